pub mod app;
pub mod postgres;
pub mod servers;
