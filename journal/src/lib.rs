//! The journal: durable, chained, append-only events on sled.
