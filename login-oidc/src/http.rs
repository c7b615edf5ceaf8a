//! Every request to a provider: one HTTP client that follows no redirects and trusts the
//! platform's roots plus the configured ones, every request bounded in time and in the size of
//! its answer, and every failure sorted into "the provider is down" or "the set-up is wrong".

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde::de::DeserializeOwned;

use crate::error::Misconfiguration;
use crate::{ConfigError, OidcConfig, OidcError};

/// The largest answer read from a provider: discovery documents, key sets and token responses
/// are a few kilobytes; more is not an answer worth holding in memory.
const MAX_ANSWER: usize = 1 << 20;

/// Sent on every request: some APIs (GitHub's) refuse requests without one.
const AGENT: &str = concat!("login-oidc/", env!("CARGO_PKG_VERSION"));

/// The client and the time every request may take.
pub(crate) struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

/// A provider's answer, read whole (within [`MAX_ANSWER`]).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Http {
    pub(crate) fn new(config: &OidcConfig) -> Result<Http, ConfigError> {
        let client = match &config.http_client {
            Some(client) => client.clone(),
            None => {
                let mut builder = reqwest::Client::builder()
                    // Never follow redirects: a provider endpoint that redirects could send the
                    // code, the client secret or the PKCE verifier somewhere else.
                    .redirect(reqwest::redirect::Policy::none())
                    // Bounded: a provider that is down or slow gets an error page, not a hung
                    // request.
                    .connect_timeout(config.http_timeout)
                    .timeout(config.http_timeout)
                    // The built-in web roots and the platform's (which honour SSL_CERT_FILE and
                    // SSL_CERT_DIR), plus the roots the app configured.
                    .tls_built_in_root_certs(true)
                    .tls_built_in_native_certs(true);
                for pem in &config.root_certificates {
                    for certificate in reqwest::Certificate::from_pem_bundle(pem)
                        .map_err(|error| ConfigError::RootCertificate(error.to_string()))?
                    {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                builder
                    .build()
                    .map_err(|error| ConfigError::HttpClient(error_chain(&error)))?
            }
        };
        Ok(Http {
            client,
            timeout: config.http_timeout,
        })
    }

    pub(crate) fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    pub(crate) fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Sends `request` to the provider's `endpoint` (named in errors) and reads the answer.
    pub(crate) async fn send(
        &self,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, OidcError> {
        // Also bounded per request, for a client the app passed in.
        let request = request
            .timeout(self.timeout)
            .header(USER_AGENT, AGENT)
            .header(ACCEPT, "application/json");
        let mut response = request
            .send()
            .await
            .map_err(|error| self.transport_error(endpoint, &error))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport_error(endpoint, &error))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(Misconfiguration::Unparsable {
                    endpoint,
                    detail: format!("the answer is larger than {MAX_ANSWER} bytes"),
                }
                .into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// A request that got no answer: TLS that failed is a set-up to fix (an untrusted private
    /// authority, a wrong host name), anything else an outage.
    fn transport_error(&self, endpoint: &'static str, error: &reqwest::Error) -> OidcError {
        if let Some(tls) = tls_error(error) {
            return Misconfiguration::Tls(format!("{endpoint}: {tls}")).into();
        }
        if error.is_timeout() {
            return OidcError::ProviderUnavailable(format!(
                "{endpoint}: no answer within {:?}",
                self.timeout
            ));
        }
        OidcError::ProviderUnavailable(format!("{endpoint}: {}", error_chain(error)))
    }
}

impl Answer {
    /// The answer as JSON of type `T`, or an error naming the endpoint and what did not parse
    /// (never the value: it may hold a token).
    pub(crate) fn json<T: DeserializeOwned>(&self, endpoint: &'static str) -> Result<T, OidcError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            Misconfiguration::Unparsable {
                endpoint,
                detail: json_error(&error),
            }
            .into()
        })
    }

    /// The status, sorted: a server error is an outage, a redirect or another unexpected status
    /// a set-up to fix (a wrong URL).
    pub(crate) fn expect_success(&self, endpoint: &'static str) -> Result<(), OidcError> {
        match self.status {
            200..=299 => Ok(()),
            500..=599 => Err(OidcError::ProviderUnavailable(format!(
                "{endpoint}: HTTP {}",
                self.status
            ))),
            status => Err(Misconfiguration::UnexpectedStatus { endpoint, status }.into()),
        }
    }
}

/// What went wrong in a JSON answer, without the value that was there: serde's message may
/// quote it, and it may be a token.
pub(crate) fn json_error(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "is not JSON",
        serde_json::error::Category::Data => "has a field of the wrong type or misses one",
        serde_json::error::Category::Eof => "ends too early",
    };
    format!(
        "the answer {what} (line {}, column {})",
        error.line(),
        error.column()
    )
}

/// The TLS failure behind a request error, if that is what it is.
fn tls_error(error: &reqwest::Error) -> Option<String> {
    // Bounded: error chains are a handful of links deep.
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    for _ in 0..32 {
        let current = pending.pop()?;
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An io::Error hides the error it wraps (perhaps another io::Error) from `source()`.
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            pending.push(inner);
        }
        if let Some(source) = current.source() {
            pending.push(source);
        }
    }
    None
}

/// An error with its sources, for the operator's log (reqwest's causes hide in the chain).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
