//! Helper traits whose only job is the compile error a guarded handler gets.
//!
//! Each is implemented for every type that has the real trait, so the code the guards
//! generate checks exactly what actix-web checks, once, inside the rewritten handler (never as
//! a where-clause on it, which rustc would check again at every registration and annotate
//! with its `trivial_bounds` notes). When the real trait is missing, rustc reports the helper
//! with its own message, which says what to write instead.

use std::fmt::Display;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};

/// A guarded handler's parameter: what actix-web's `FromRequest` is, with a message saying
/// what to write when it is missing.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor, so it cannot be a handler parameter",
    label = "`{Self}` does not implement `FromRequest`",
    note = "wrap it in an extractor (`web::Json<{Self}>`, `web::Form<{Self}>`, `web::Query<{Self}>`, `web::Data<{Self}>`) or implement `actix_web::FromRequest` for it"
)]
pub trait HandlerParameter: Sized {
    /// The extraction, its error as `actix_web::Error`.
    type Extracting: Future<Output = Result<Self, actix_web::Error>>;
    /// `FromRequest::from_request`, errors as `actix_web::Error`.
    fn extract(req: &HttpRequest, payload: &mut Payload) -> Self::Extracting;
}

impl<T: FromRequest> HandlerParameter for T {
    type Extracting = futures_util::future::ErrInto<T::Future, actix_web::Error>;
    fn extract(req: &HttpRequest, payload: &mut Payload) -> Self::Extracting {
        futures_util::TryFutureExt::err_into(T::from_request(req, payload))
    }
}

/// What a guarded handler returns: what actix-web's `Responder` is, with a message saying
/// what to write when it is missing.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response, so a handler cannot return it",
    label = "`{Self}` does not implement `Responder`",
    note = "return `HttpResponse` (`HttpResponse::NoContent().finish()` for an empty answer), `impl Responder`, or a `Result` of one of them"
)]
pub trait HandlerReturn {
    /// `Responder::respond_to`, as the response actix-web would make of it.
    fn into_response(self, req: &HttpRequest) -> HttpResponse;
}

impl<R: Responder> HandlerReturn for R {
    fn into_response(self, req: &HttpRequest) -> HttpResponse {
        self.respond_to(req).map_into_boxed_body()
    }
}

/// What a login user's id must be: written into the session and the remember cookie with
/// `Display`, read back with `FromStr`, cloned out of the user.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a login user's id",
    label = "`{Self}` must implement `Display`, `FromStr` and `Clone`",
    note = "an id is written into the session with `Display` and read back with `FromStr`: implement both and `Clone` for `{Self}`, or use an id type that has them (`u64`, `String`, `Uuid`)"
)]
pub trait LoginId: Display + FromStr + Clone + 'static {}

// Not recommended: a missing `Display` and a missing `FromStr` are one mistake, reported once
// as this trait's.
#[diagnostic::do_not_recommend]
impl<T: Display + FromStr + Clone + 'static> LoginId for T {}

/// One kind of user on one handler: a login extractor asks for the kind its guard admits.
#[diagnostic::on_unimplemented(
    message = "this parameter asks for `{Self}`, but the guard admits `{U}`",
    label = "not the kind of user the guard admits",
    note = "a guard and the handler's login extractors name one kind of user: ask for `{U}` here, or guard the handler with `user = {Self}`"
)]
pub trait SameKindAs<U> {}

impl<T> SameKindAs<T> for T {}

/// Checks at compile time that `Asked` (an extractor's user type) is `Guarded` (the guard's).
pub fn same_kind<Asked: SameKindAs<Guarded>, Guarded>() {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::{HttpResponse, test, web};

    use super::{HandlerParameter, HandlerReturn};

    #[actix_web::test]
    async fn extracts_and_responds_like_actix() {
        let req = test::TestRequest::with_uri("/?a=1").to_http_request();
        let mut payload = actix_web::dev::Payload::None;
        let query =
            <web::Query<Vec<(String, u8)>> as HandlerParameter>::extract(&req, &mut payload)
                .await
                .unwrap();
        assert_eq!(query.0, [("a".to_owned(), 1)]);
        let bad = <web::Query<Vec<(String, u8)>> as HandlerParameter>::extract(
            &test::TestRequest::with_uri("/?a=x").to_http_request(),
            &mut payload,
        )
        .await;
        assert_eq!(bad.unwrap_err().as_response_error().status_code(), 400);

        let res = HandlerReturn::into_response(Ok::<(), actix_web::Error>(()), &req);
        assert_eq!(res.status(), 204);
        let res = HandlerReturn::into_response(HttpResponse::Accepted().finish(), &req);
        assert_eq!(res.status(), 202);
    }
}
