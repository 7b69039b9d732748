//! The shared state store's settings (`TREKMAIL_STATE_*`) read from the environment, with the
//! rest of the configuration.

use crate::call::state::StateConfig;
use crate::config::env::pem_file;
use crate::config::limits;

impl StateConfig {
    /// Reads `TREKMAIL_STATE_URL`, `TREKMAIL_STATE_REQUIRED` and `TREKMAIL_STATE_CA_FILE`; a
    /// problem never echoes the URL or the file's content.
    pub fn from_env(
        get: &impl Fn(&str) -> Option<String>,
        problems: &mut Vec<String>,
    ) -> Option<Self> {
        let required = limits::STATE_REQUIRED.read(get(limits::STATE_REQUIRED.var), problems);
        let ca_pem = get("TREKMAIL_STATE_CA_FILE")
            .and_then(|path| pem_file("TREKMAIL_STATE_CA_FILE", &path, problems));
        let Some(url) = get("TREKMAIL_STATE_URL").map(|u| u.trim().to_owned()) else {
            if ca_pem.is_some() {
                problems.push("TREKMAIL_STATE_CA_FILE is set without TREKMAIL_STATE_URL".into());
            }
            return None;
        };
        let tls = url.starts_with("rediss://");
        if !(tls || url.starts_with("redis://")) || redis::Client::open(url.as_str()).is_err() {
            problems.push(
                "TREKMAIL_STATE_URL must be a redis:// or rediss:// URL (redis[s]://[:password@]host[:port][/db])".into(),
            );
            return None;
        }
        if ca_pem.is_some() && !tls {
            problems
                .push("TREKMAIL_STATE_CA_FILE needs a rediss:// TREKMAIL_STATE_URL (TLS)".into());
            return None;
        }
        let config = Self {
            url,
            required,
            ca_pem,
        };
        // The certificates are parsed now, so a bad file stops the start, not the first write.
        if let Err(e) = config.client() {
            problems.push(e.0);
            return None;
        }
        Some(config)
    }
}

#[cfg(test)]
mod tests {
    use crate::call::state::StateConfig;

    fn read(url: Option<&str>, required: Option<&str>) -> (Option<StateConfig>, Vec<String>) {
        let get = |k: &str| match k {
            "TREKMAIL_STATE_URL" => url.map(str::to_owned),
            "TREKMAIL_STATE_REQUIRED" => required.map(str::to_owned),
            _ => None,
        };
        let mut problems = Vec::new();
        (StateConfig::from_env(&get, &mut problems), problems)
    }

    #[test]
    fn the_url_is_redis_or_rediss_and_never_echoed() {
        let (c, p) = read(Some("redis://:pw-QQQ@127.0.0.1:6379/0"), None);
        assert!(p.is_empty(), "{p:?}");
        let c = c.expect("config");
        assert!(c.required, "required by default");
        assert!(!format!("{c:?}").contains("QQQ"));
        assert!(
            read(Some("rediss://cache.internal:6380"), Some("false"))
                .0
                .is_some_and(|c| !c.required)
        );
        for bad in [
            "http://127.0.0.1:6379",
            "127.0.0.1:6379",
            "redis://:pw-QQQ@[::1",
        ] {
            let (c, p) = read(Some(bad), None);
            assert!(c.is_none() && p.len() == 1, "{bad}: {p:?}");
            assert!(!p[0].contains("QQQ"), "{}", p[0]);
        }
        assert_eq!(read(None, Some("maybe")).1.len(), 1);
        assert!(read(None, None).0.is_none());
    }

    #[test]
    fn a_ca_file_goes_with_a_rediss_url_and_its_content_is_never_echoed() {
        let dir = std::env::temp_dir().join(format!("trekmail-state-ca-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../trekmail-api/tests/tls/ca.pem"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate QQQ").expect("write");
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nQQQ!!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let read = |url: Option<&str>, file: &str| {
            let get = |k: &str| match k {
                "TREKMAIL_STATE_URL" => url.map(str::to_owned),
                "TREKMAIL_STATE_CA_FILE" => Some(file.to_owned()),
                _ => None,
            };
            let mut problems = Vec::new();
            (StateConfig::from_env(&get, &mut problems), problems)
        };
        let (c, p) = read(Some("rediss://127.0.0.1:6380"), ca);
        assert!(p.is_empty(), "{p:?}");
        let c = c.expect("config");
        assert!(c.ca_pem.is_some());
        assert!(!format!("{c:?}").contains("BEGIN"), "{c:?}");
        for (url, file, says) in [
            (Some("redis://127.0.0.1:6379"), ca, "needs a rediss://"),
            (None, ca, "without TREKMAIL_STATE_URL"),
            (
                Some("rediss://127.0.0.1:6380"),
                "/nonexistent/ca.pem",
                "cannot read",
            ),
            (
                Some("rediss://127.0.0.1:6380"),
                junk.to_str().expect("utf-8"),
                "no PEM",
            ),
            (
                Some("rediss://127.0.0.1:6380"),
                broken.to_str().expect("utf-8"),
                "cannot be parsed",
            ),
        ] {
            // Any problem stops the start; the config returned beside it is not used.
            let (_, p) = read(url, file);
            assert!(p.len() == 1, "{file}: {p:?}");
            assert!(
                p[0].contains("TREKMAIL_STATE_CA_FILE") && p[0].contains(says),
                "{p:?}"
            );
            assert!(!p[0].contains("QQQ"), "{p:?}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
