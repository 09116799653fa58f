//! What the benchmark harnesses share: argument parsing, a fresh database per backend, the real
//! service started in-process, the measurement window with exact percentiles, the runners for
//! raw SQL threads and HTTP clients, and the wait for a clean `verify`.

// Each bench binary compiles this module on its own and uses a part of it.
#![allow(dead_code)]

mod args;
mod client;
mod measure;
mod service;
mod sql;

pub use args::*;
pub use client::*;
pub use measure::*;
pub use service::*;
pub use sql::*;

use std::future::Future;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, Connection, ExpressionMethods, QueryableByName, RunQueryDsl};
use pointsbank::app;
use pointsbank::config::Settings;
use pointsbank::db::{self, connection, Backend, Db, DbTarget};
use serde_json::{json, Value};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const ADMIN_PHONE: &str = "13900000000";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";
