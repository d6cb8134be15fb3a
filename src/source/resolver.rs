//! How host names become addresses for the probes (S3, Polyaxon API).
//! Tests inject `Static`, so that no query ever reaches a real DNS
//! resolver and a name that does not resolve is a test's choice.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Default)]
pub enum Resolver {
    #[default]
    System,
    /// Names not in the map do not resolve.
    Static(BTreeMap<String, Vec<IpAddr>>),
}

impl Resolver {
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        match self {
            Resolver::System => match tokio::net::lookup_host((host, port)).await {
                Ok(addresses) => {
                    let found: Vec<SocketAddr> = addresses.collect();
                    if found.is_empty() {
                        Err(format!("{host} has no address"))
                    } else {
                        Ok(found)
                    }
                }
                Err(error) => Err(format!("{host} does not resolve: {error}")),
            },
            Resolver::Static(names) => names
                .get(host)
                .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
                .ok_or_else(|| format!("{host} does not resolve: no such host")),
        }
    }
}
