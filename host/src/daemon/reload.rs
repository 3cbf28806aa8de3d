//! SIGHUP: the configuration re-read without a switchover where nothing changed.

use tracing::{Instrument, error, info, info_span, warn};

use super::router::Router;
use super::{Daemon, spawn_checks, spawn_hooks};
use crate::config::Config;
use crate::health::{HealthEvent, HealthTable};

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
        if new.uplinks() != self.cfg.uplinks()
            || new.status_listen != self.cfg.status_listen
            || new.datapath != self.cfg.datapath
        {
            error!("reload refused: the uplinks, datapath and status.listen need a restart");
            return;
        }
        if new.supervise != self.cfg.supervise {
            warn!("reload: supervise changes take effect at the next restart");
        }
        if new.process != self.cfg.process {
            warn!("reload: process changes take effect at the next restart");
        }
        let old_vrids: Vec<(u8, &str)> = self
            .routers
            .iter()
            .map(|r| (r.vrid(), r.cfg.interface.as_str()))
            .collect();
        let new_vrids: Vec<(u8, &str)> = new
            .routers
            .iter()
            .map(|r| (r.vrid(), r.interface.as_str()))
            .collect();
        if old_vrids != new_vrids {
            error!(
                "reload refused: adding or removing virtual routers, or moving one to another uplink, needs a restart"
            );
            return;
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
            let primary = r.stack.primary();
            let node_mac = dp.node_mac();
            let uplink = r.uplink;
            match Router::new(
                rc.clone(),
                primary,
                node_mac,
                uplink,
                &mut dp.transmitter(),
                now,
            ) {
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
        self.handle_events();
    }
}
