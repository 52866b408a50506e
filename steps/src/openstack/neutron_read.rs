//! Read-only listings for assessments: only the fields asked for, in pages of
//! a chosen size, with the number of calls each took.
//!
//! Neutron honours repeated `fields=` (the answer carries only those keys)
//! and `limit`/`marker` pagination with `<collection>_links`; the client
//! follows the `next` links ([`OpenStack::list_pages`]). Nova's compute
//! services are one call; its servers are paginated the same way and
//! filtered by tag (microversion 2.26, which the client always sends).

use serde::de::DeserializeOwned;

use super::Error;
use super::client::{OpenStack, Query, Service};

/// A listing and the calls it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing<T> {
    /// Every item of every page.
    pub items: Vec<T>,
    /// How many requests (pages) it took.
    pub calls: u64,
}

/// Returns a query asking for `fields` in pages of `page_size` (0: the service's default).
pub fn fields_query(fields: &[&str], page_size: usize) -> Query {
    let mut q = Query::new();
    for f in fields {
        q = q.eq("fields", *f);
    }
    if page_size > 0 {
        q = q.limit(page_size);
    }
    q
}

impl OpenStack {
    /// Lists a Neutron collection (`networks`, `security-group-rules`, …) with only `fields`.
    pub async fn list_neutron_fields<T: DeserializeOwned>(
        &self,
        collection: &str,
        fields: &[&str],
        page_size: usize,
    ) -> Result<Listing<T>, Error> {
        let (items, calls) = self
            .list_pages(
                Service::Network,
                &format!("/{collection}"),
                collection,
                &fields_query(fields, page_size),
            )
            .await?;
        Ok(Listing { items, calls })
    }

    /// Lists Nova's `nova-compute` services (one per compute host).
    pub async fn list_compute_services<T: DeserializeOwned>(&self) -> Result<Listing<T>, Error> {
        let (items, calls) = self
            .list_pages(
                Service::Compute,
                "/os-services",
                "services",
                &Query::new().eq("binary", "nova-compute"),
            )
            .await?;
        Ok(Listing { items, calls })
    }

    /// Lists the servers of every project that carry `tag`, with details.
    pub async fn list_tagged_servers<T: DeserializeOwned>(
        &self,
        tag: &str,
        page_size: usize,
    ) -> Result<Listing<T>, Error> {
        let mut q = Query::new().eq("tags", tag).eq("all_tenants", "1");
        if page_size > 0 {
            q = q.limit(page_size);
        }
        let (items, calls) = self
            .list_pages(Service::Compute, "/servers/detail", "servers", &q)
            .await?;
        Ok(Listing { items, calls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_repeat_and_limit_is_optional() {
        let q = fields_query(&["id", "mtu"], 500);
        assert_eq!(
            q.0,
            vec![
                ("fields".to_string(), "id".to_string()),
                ("fields".into(), "mtu".into()),
                ("limit".into(), "500".into())
            ]
        );
        assert_eq!(fields_query(&["id"], 0).0.len(), 1);
    }
}
