//! The step engine and the workflows of ovn-migrate.
