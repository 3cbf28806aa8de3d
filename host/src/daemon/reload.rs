//! SIGHUP: the configuration re-read without a switchover where nothing changed.

use tracing::{Instrument, error, info, info_span, warn};

use super::router::Router;
use super::{Daemon, spawn_checks, spawn_hooks};
use crate::config::Config;
use crate::health::{HealthEvent, HealthTable};

/// What in `new` a reload cannot apply to a daemon running `old`, if anything: the data path
/// and the status server are built once, and the routers are matched one to one.
fn refusal(old: &Config, new: &Config) -> Option<&'static str> {
    let routers = |c: &Config| -> Vec<(u8, String)> {
        c.routers
            .iter()
            .map(|r| (r.vrid(), r.interface.clone()))
            .collect()
    };
    if new.uplinks() != old.uplinks() {
        Some("adding, removing or reordering uplinks")
    } else if new.status_listen != old.status_listen || new.datapath != old.datapath {
        Some("changing datapath or status.listen")
    } else if routers(new) != routers(old) {
        Some("adding or removing virtual routers, or moving one to another uplink,")
    } else {
        None
    }
}

impl Daemon {
    /// SIGHUP: re-read the config. Routers whose protocol parameters are unchanged keep running
    /// (no switchover); checks, hooks and tracking are replaced. A changed router restarts
    /// through Initialize, stepping down first if it was Active.
    pub(super) fn reload(&mut self) {
        let new = match Config::load(&self.opts.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the running config: {}", e.render());
                return;
            }
        };
        if let Some(why) = refusal(&self.cfg, &new) {
            error!("reload refused: {why} needs a restart");
            return;
        }
        if new.supervise != self.cfg.supervise {
            warn!("reload: supervise changes take effect at the next restart");
        }
        if new.process != self.cfg.process {
            warn!("reload: process changes take effect at the next restart");
        }
        let now = self.clock.now();
        for (r, rc) in self.routers.iter_mut().zip(&new.routers) {
            if r.cfg.same_protocol(rc) {
                r.cfg = rc.clone();
                continue;
            }
            if !rc.core.vips().eq(r.stack.vips()) {
                warn!(
                    vrid = r.vrid(),
                    "reload changes the VIPs: lo is updated at the next restart"
                );
            }
            info!(
                vrid = r.vrid(),
                "reload changes protocol parameters: restarting this router"
            );
            let events = &mut self.events;
            let vrid = r.vrid();
            let Some(dp) = self.uplinks.get_mut(r.uplink).map(|u| &mut u.dp) else {
                return;
            };
            r.stack
                .shutdown(now, &mut dp.transmitter(), &mut |e| events.push((vrid, e)));
            match Router::new(rc.clone(), r.stack.primary(), dp, r.uplink, now) {
                Ok(mut fresh) => {
                    fresh.stack.startup(now);
                    fresh.started = true;
                    *r = fresh;
                }
                Err(e) => error!(vrid, "reload: {e}; the router stays in Initialize"),
            }
        }
        // Checks that keep their name and definition keep their verdict: a reload must not count
        // a healthy nginx as down until its new probe has run `rise` times.
        let mut health = HealthTable::new(&new);
        for c in &new.checks {
            let same = self.cfg.checks.iter().any(|o| o == c);
            if let (true, Some(up)) = (same, self.health.state(&c.name)) {
                health.apply(&HealthEvent {
                    check: c.name.clone(),
                    up,
                    detail: "carried over the reload".into(),
                    value: self.health.value(&c.name),
                });
            }
        }
        // The old checks stop when replaced; a verdict they sent meanwhile may still be in the
        // inbox and is applied to a table that no longer tracks them, or carried over, as
        // above, as the same check's.
        let (checks, hooks) = match (
            spawn_checks(&self.services, &self.notifier, &new.checks, &self.status),
            spawn_hooks(&self.services, &new),
        ) {
            (Ok(c), Ok(h)) => (c, h),
            _ => {
                error!("reload refused: the services thread is gone");
                return;
            }
        };
        self.health = health;
        self._checks = checks;
        if let Some(old) = self.hooks.replace(hooks) {
            self.services
                .spawn(old.close().instrument(info_span!("old hooks")));
        }
        for r in &mut self.routers {
            let p = super::priority_of(&self.health, &self.overrides, r);
            r.stack.set_priority(now, p);
        }
        self.cfg = new;
        info!("configuration reloaded");
        self.counters.force();
        self.handle_events();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("t.toml")).unwrap()
    }

    const TWO: &str = "interface = \"eth0\"\n\
        [[vrrp]]\nvrid = 51\npriority = 100\nvips = [\"192.0.2.100\"]\n\
        [[vrrp]]\nvrid = 52\ninterface = \"eth1\"\npriority = 100\nvips = [\"198.51.100.100\"]\n";

    #[test]
    fn a_reload_keeps_the_uplinks_and_the_routers_where_they_are() {
        let old = cfg(TWO);
        assert_eq!(
            refusal(&old, &cfg(&TWO.replace("priority = 100", "priority = 90"))),
            None
        );
        // Router 52 moved to eth0: eth1 is no uplink any more.
        let moved = TWO.replace("interface = \"eth1\"\n", "");
        assert_eq!(
            refusal(&old, &cfg(&moved)),
            Some("adding, removing or reordering uplinks")
        );
        // Router 52 moved to eth2.
        let elsewhere = TWO.replace("\"eth1\"", "\"eth2\"");
        assert!(refusal(&old, &cfg(&elsewhere)).is_some());
        // Same uplinks, another router on one of them.
        let other = "interface = \"eth0\"\n\
            [[vrrp]]\nvrid = 51\npriority = 100\nvips = [\"192.0.2.100\"]\n\
            [[vrrp]]\nvrid = 53\ninterface = \"eth1\"\npriority = 100\nvips = [\"198.51.100.100\"]\n";
        assert_eq!(
            refusal(&old, &cfg(other)),
            Some("adding or removing virtual routers, or moving one to another uplink,")
        );
    }
}
