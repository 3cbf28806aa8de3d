//! The live status page served at `GET /`.
//!
//! One self-contained HTML file (inline CSS and script, nothing loaded from elsewhere, so it
//! works on a management network without Internet access). The page holds no data: its script
//! fetches `/status` every second and renders each virtual router's state, priorities and
//! Active, the health checks, and a timeline of the recent transitions and freezes
//! ([`Snapshot::recent_freezes`](super::Snapshot::recent_freezes),
//! [`RouterStatus::recent_transitions`](super::RouterStatus::recent_transitions)). The
//! document title names every router's state, so a browser tab shows a failover.
//!
//! Tested in headless Chromium against a running pair by `tests/tests/status_page.rs`.

/// The page, as served.
pub const PAGE: &str = include_str!("page.html");

#[cfg(test)]
mod tests {
    use super::PAGE;

    /// Everything the page needs is inline: no URL with a scheme or a protocol-relative one,
    /// no `src=` / `href=` at all, and the only request it makes is to `/status` on its own
    /// origin.
    #[test]
    fn page_is_self_contained_and_small() {
        let lower = PAGE.to_ascii_lowercase();
        for external in [
            "http://", "https://", "\"//", "'//", "src=", "href=", "@import",
        ] {
            assert!(!lower.contains(external), "the page references {external}");
        }
        let fetches: Vec<_> = lower.match_indices("fetch(").collect();
        assert_eq!(fetches.len(), 1, "one fetch");
        assert!(lower[fetches[0].0..].starts_with("fetch(\"/status\""));
        assert!(PAGE.len() < 15 * 1024, "{} bytes", PAGE.len());
        assert!(PAGE.starts_with("<!doctype html>"));
    }
}
