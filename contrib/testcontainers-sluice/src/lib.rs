//! A [testcontainers](https://docs.rs/testcontainers) module for Sluice, the
//! Kafka-wire-protocol compatible broker.
//!
//! ```no_run
//! # async fn demo() -> Result<(), testcontainers_sluice::Error> {
//! use testcontainers_sluice::Sluice;
//!
//! let broker = Sluice::default().with_option("default-partitions", "3").start().await?;
//! let bootstrap = broker.bootstrap_servers(); // "127.0.0.1:PORT", for any Kafka client
//! # let _ = bootstrap;
//! # Ok(()) }
//! ```
//!
//! The container runs with host networking and listens on port 0 (Kafka and
//! HTTP), so parallel tests never collide and no port mapping is needed:
//! [`Sluice::start`] waits for the broker's ready line (`listening on
//! HOST:PORT`, printed once every listener is bound and the broker serves)
//! and reads the real port from it. The broker is ephemeral (nothing on
//! disk) unless [`Sluice::persistent`] is asked. Options are Sluice's
//! (`SLUICE_*` variables, see docs/configuration.md), given with
//! [`Sluice::with_option`] or [`Sluice::with_env`].
//!
//! The image is Sluice's own (`contrib/docker/build-image.sh` builds
//! `sluice:latest`); [`Sluice::with_image`] names another.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use testcontainers::core::wait::LogWaitStrategy;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt, TestcontainersError};

/// The image [`Sluice::default`] runs.
pub const DEFAULT_IMAGE: &str = "sluice";
/// Its tag.
pub const DEFAULT_TAG: &str = "latest";
/// The ready line's start: `listening on HOST:PORT`.
pub const READY_LINE: &str = "listening on ";
const HTTP_LINE: &str = "http listening on ";

/// Sluice's image, to start with [`Sluice::start`].
#[derive(Debug, Clone)]
pub struct Sluice {
    name: String,
    tag: String,
    env: BTreeMap<String, String>,
}

impl Default for Sluice {
    /// `sluice:latest`, ephemeral, Kafka and HTTP on 127.0.0.1 port 0.
    fn default() -> Self {
        let env = [
            ("SLUICE_LISTEN", "127.0.0.1:0"),
            ("SLUICE_HTTP_LISTEN", "127.0.0.1:0"),
            ("SLUICE_EPHEMERAL", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Sluice {
            name: DEFAULT_IMAGE.to_string(),
            tag: DEFAULT_TAG.to_string(),
            env,
        }
    }
}

impl Sluice {
    /// Runs `image` (`NAME` or `NAME:TAG`; `latest` if no tag).
    pub fn with_image(mut self, image: &str) -> Self {
        // A registry host may have a port (`host:5000/sluice`): the tag is
        // after the last `:` only when no `/` follows it.
        match image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((name, tag)) => {
                self.name = name.to_string();
                self.tag = tag.to_string();
            }
            None => {
                self.name = image.to_string();
                self.tag = DEFAULT_TAG.to_string();
            }
        }
        self
    }

    /// Sets one of Sluice's options by its name (`default-partitions`),
    /// as the variable `SLUICE_DEFAULT_PARTITIONS`.
    pub fn with_option(self, name: &str, value: &str) -> Self {
        let var = format!("SLUICE_{}", name.replace('-', "_").to_ascii_uppercase());
        self.with_env(&var, value)
    }

    /// Sets an environment variable of the container (`SLUICE_*`, or the
    /// `KAFKA_*` variables of Kafka's images, which the image reads too).
    pub fn with_env(mut self, var: &str, value: &str) -> Self {
        self.env.insert(var.to_string(), value.to_string());
        self
    }

    /// Keeps data in the container's `/var/lib/sluice` instead of memory.
    pub fn persistent(mut self) -> Self {
        self.env.remove("SLUICE_EPHEMERAL");
        self
    }

    fn http_on(&self) -> bool {
        self.env
            .get("SLUICE_HTTP_LISTEN")
            .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("none"))
    }

    /// Starts the container on the host's network and waits for its ready
    /// line; the address it names is [`SluiceContainer::bootstrap_servers`].
    pub async fn start(self) -> Result<SluiceContainer, Error> {
        let container = self.with_network("host").start().await?;
        let stdout = container.stdout_to_vec().await?;
        let stdout = String::from_utf8_lossy(&stdout);
        let find = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|a| a.trim().to_string())
        };
        let bootstrap = find(READY_LINE).ok_or_else(|| Error::NoReadyLine(stdout.to_string()))?;
        let http = find(HTTP_LINE);
        Ok(SluiceContainer {
            container,
            bootstrap,
            http,
        })
    }
}

impl Image for Sluice {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // `http listening on` comes first and holds the same words, so the
        // ready line is the second match when HTTP is on.
        let times = if self.http_on() { 2 } else { 1 };
        vec![WaitFor::log(
            LogWaitStrategy::stdout(READY_LINE.trim_end()).with_times(times),
        )]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A running Sluice container; removed when dropped.
pub struct SluiceContainer {
    container: ContainerAsync<Sluice>,
    bootstrap: String,
    http: Option<String>,
}

impl SluiceContainer {
    /// `HOST:PORT` for a Kafka client's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// `HOST:PORT` of the HTTP server (`/readyz`, admin), unless turned off.
    pub fn http_addr(&self) -> Option<&str> {
        self.http.as_deref()
    }

    /// The testcontainers handle (logs, stop, exec).
    pub fn container(&self) -> &ContainerAsync<Sluice> {
        &self.container
    }

    /// Stops and removes the container now (dropping it does the same in
    /// the background).
    pub async fn remove(self) -> Result<(), Error> {
        self.container.rm().await?;
        Ok(())
    }
}

/// Why the container did not start.
#[derive(Debug)]
pub enum Error {
    /// Docker or testcontainers failed (no daemon, no image, the container
    /// exited before its ready line).
    Testcontainers(TestcontainersError),
    /// The container was ready but its output held no ready line.
    NoReadyLine(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Testcontainers(e) => write!(f, "cannot start the Sluice container: {e}"),
            Error::NoReadyLine(out) => write!(f, "no `{READY_LINE}HOST:PORT` line in: {out}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Testcontainers(e) => Some(e),
            Error::NoReadyLine(_) => None,
        }
    }
}

impl From<TestcontainersError> for Error {
    fn from(e: TestcontainersError) -> Self {
        Error::Testcontainers(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_at_the_tag() {
        let s = Sluice::default().with_image("registry:5000/team/sluice:1.2");
        assert_eq!((s.name(), s.tag()), ("registry:5000/team/sluice", "1.2"));
        let s = Sluice::default().with_image("registry:5000/sluice");
        assert_eq!((s.name(), s.tag()), ("registry:5000/sluice", "latest"));
        let s = Sluice::default().with_image("sluice:dev");
        assert_eq!((s.name(), s.tag()), ("sluice", "dev"));
    }

    #[test]
    fn options_are_sluice_variables() {
        let s = Sluice::default()
            .with_option("default-partitions", "3")
            .persistent();
        assert_eq!(
            s.env.get("SLUICE_DEFAULT_PARTITIONS").map(String::as_str),
            Some("3")
        );
        assert!(!s.env.contains_key("SLUICE_EPHEMERAL"));
        assert!(s.http_on());
        assert!(!s.with_option("http-listen", "none").http_on());
    }
}
