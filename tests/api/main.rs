//! Integration tests against the real server on 127.0.0.1:0, over real HTTP.

mod audit;
mod auth;
mod code;
mod datasets;
mod errors;
mod forgery;
mod helpers;
mod humaneval;
mod integrity;
mod math_verify;
mod mbpp;
mod openrlhf;
mod ops;
mod policies;
mod rewards;
mod shed;
mod slime;
mod timeline;
