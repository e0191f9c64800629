//! Attacks on the trust model, each tried as an attacker would and each required to fail with
//! the right error while legitimate use still works. Run on both backends like every e2e test.
//! One submodule per area of the model, so each stays small enough to read.

mod accounts;
mod budgets;
mod limits;
mod secrets;
mod sockets;
mod support;
