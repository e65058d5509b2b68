//! The binary's integration tests, one test binary for all of them (one
//! link instead of one per file): each module drives the real `foghorn`
//! binary through its CLI and HTTP API on SQLite, and on PostgreSQL when
//! `FOGHORN_TEST_DATABASE_URL` is set.
// Tests fail by panicking; `unwrap`/`expect` are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod mock_providers;

mod api;
mod bandwidth_e2e;
mod browser;
mod cli;
mod consent;
mod dashboard;
mod delivery;
mod email_e2e;
mod escalation;
mod gdpr;
mod hardening;
mod inbound;
mod outbound_api;
mod outbound_email;
mod pack;
mod people;
mod proof;
mod scale_out;
mod security;
mod sms_e2e;
mod team;
mod team_golden;
mod webdriver;
mod whatsapp;
