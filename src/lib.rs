#![forbid(unsafe_code)]
//! The volunteer points bank (积分银行): a double-entry ledger service for villages and communities.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod periodic;
pub mod qr;
pub mod service;
pub mod sheet;
pub mod wechat;
pub mod worker;
