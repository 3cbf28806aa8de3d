//! The VRRP state machine of one virtual router (RFC 9568 §6.4), sans-IO.
//!
//! Callers feed events with the current time and then drain what the router wants done:
//!
//! 1. `startup(now)` once;
//! 2. for every received advertisement, `handle_advert(now, ...)`, **all queued frames before**
//!    `handle_timeout(now)`: a router thawed after a freeze must see what the others said while it
//!    slept before its overdue timers decide anything;
//! 3. `handle_timeout(now)` when `poll_timeout()` is due;
//! 4. `poll_action()` until it returns `None`.
//!
//! The router never reads a clock. Overdue timers fire once, however late they are.

use core::fmt;
use core::net::Ipv4Addr;

use embassy_time::{Duration, Instant};
use heapless::Deque;

use crate::config::{Config, ConfigError};
use crate::wire::{Address, DropReason, Repr, VRRP_TTL, Version};

/// RFC 9568 §6.4 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    Initialize,
    Backup,
    Active,
}

impl State {
    /// Every state, in the order of the RFC: drivers list them (metrics) from here.
    pub const ALL: [State; 3] = [State::Initialize, State::Backup, State::Active];

    pub const fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "Initialize",
            State::Backup => "Backup",
            State::Active => "Active",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reason {
    /// Initialize -> Backup.
    Startup,
    /// Initialize -> Active: priority 255.
    AddressOwner,
    /// Backup -> Active: no advert for Active_Down_Interval (or Skew_Time after a priority 0).
    ActiveDown,
    /// Active -> Backup: an advert with a higher priority (or equal, from a higher address).
    HigherPriority,
    /// Active -> Backup: the effective priority fell to 0 (health check fault).
    Fault,
    /// -> Initialize.
    Shutdown,
}

impl Reason {
    /// Every reason: drivers list them (a counter per reason, at 0 before the first) from here.
    pub const ALL: [Reason; 6] = [
        Reason::Startup,
        Reason::AddressOwner,
        Reason::ActiveDown,
        Reason::HigherPriority,
        Reason::Fault,
        Reason::Shutdown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::AddressOwner => "address_owner",
            Reason::ActiveDown => "active_down",
            Reason::HigherPriority => "higher_priority",
            Reason::Fault => "fault",
            Reason::Shutdown => "shutdown",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// A variant missing from `ALL` would be missing from every list built from it (a fresh metrics
// exposition): these matches stop compiling when a variant is added, until `ALL` is looked at.
const _: fn(State) = |s| match s {
    State::Initialize | State::Backup | State::Active => {}
};
const _: fn(Reason) = |r| match r {
    Reason::Startup
    | Reason::AddressOwner
    | Reason::ActiveDown
    | Reason::HigherPriority
    | Reason::Fault
    | Reason::Shutdown => {}
};

/// What the router asks its driver to do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action<A: Address = Ipv4Addr> {
    StateChange {
        from: State,
        to: State,
        reason: Reason,
    },
    /// Send an advertisement built by [`VirtualRouter::advert`] with this priority.
    SendAdvert { priority: u8 },
    /// Start answering for the VIPs.
    ClaimVips,
    /// Stop answering for the VIPs.
    ReleaseVips,
    /// Send `count` gratuitous ARPs (IPv4) or unsolicited Neighbor Advertisements (IPv6) for
    /// each VIP.
    Announce { count: u8 },
    /// An advert listed other addresses than ours (RFC 9568 §7.1: logged, processed anyway so
    /// that a rolling VIP change cannot split the brain).
    AddressMismatch { source: A },
}

/// Counters a daemon exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    pub adverts_sent: u32,
    pub adverts_received: u32,
    pub transitions: u32,
    pub address_mismatches: u32,
    pub drops: [u32; DropReason::ALL.len()],
}

impl Stats {
    pub fn drops(&self, reason: DropReason) -> u32 {
        self.drops[reason.index()]
    }
}

/// An advert the router accepted: who sent it, with what priority, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Heard<A = Ipv4Addr> {
    pub source: A,
    pub priority: u8,
    pub at: Instant,
}

/// What a Backup waited for before it took over on its own ([`Reason::ActiveDown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DownWait {
    /// Active_Down_Interval, from startup or from the last advert.
    ActiveDownInterval,
    /// Skew_Time, after the Active announced its departure with priority 0.
    SkewTime,
}

impl DownWait {
    pub const fn as_str(self) -> &'static str {
        match self {
            DownWait::ActiveDownInterval => "active_down_interval",
            DownWait::SkewTime => "skew_time",
        }
    }
}

/// Why a [`Reason::ActiveDown`] takeover happened, so that a driver can explain it: which
/// deadline expired, how late its timer was handled, and what was last heard.
/// [`VirtualRouter::handle_timeout`] returns it; the router keeps no copy (its state has a RAM
/// budget, see `tests/two_routers.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Takeover<A = Ipv4Addr> {
    pub wait: DownWait,
    pub deadline: Instant,
    /// The `now` of the [`VirtualRouter::handle_timeout`] that took over.
    pub fired: Instant,
    /// The last advert accepted before, from startup on (none: nobody was ever heard).
    pub last_advert: Option<Heard<A>>,
}

impl<A> Takeover<A> {
    /// How long after its deadline the timer was handled: a frozen or overloaded process
    /// shows here.
    pub fn late(&self) -> Duration {
        self.fired
            .checked_duration_since(self.deadline)
            .unwrap_or(Duration::from_ticks(0))
    }

    /// The same with its address mapped (see [`crate::net::Event::map_addr`]).
    pub fn map_addr<B>(self, f: impl FnOnce(A) -> B) -> Takeover<B> {
        Takeover {
            wait: self.wait,
            deadline: self.deadline,
            fired: self.fired,
            last_advert: self.last_advert.map(|h| Heard {
                source: f(h.source),
                priority: h.priority,
                at: h.at,
            }),
        }
    }
}

/// A deadline, or none. `Option<Instant>` would take 16 bytes where 8 do: `Instant::MAX` is
/// never a deadline a router sets (it is 584,000 years after boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timer(Instant);

impl Timer {
    const OFF: Timer = Timer(Instant::MAX);

    fn at(t: Instant) -> Timer {
        Timer(t)
    }

    fn at_if(armed: bool, t: Instant) -> Timer {
        if armed { Timer(t) } else { Timer::OFF }
    }

    fn get(self) -> Option<Instant> {
        (self != Timer::OFF).then_some(self.0)
    }
}

/// Room for the actions one event can queue (becoming Active queues four; an Active that
/// hears a lower priority with other addresses queues three).
const ACTIONS: usize = 6;

/// One virtual router. `N` bounds its VIP and peer lists; `A` is its address family.
#[derive(Debug, Clone)]
pub struct VirtualRouter<const N: usize, A: Address = Ipv4Addr> {
    config: Config<N, A>,
    state: State,
    /// Effective priority: the configured one adjusted by health tracking.
    priority: u8,
    /// Active_Adver_Interval in centiseconds (learned from the Active in VRRPv3).
    active_adver_interval: u16,
    down_timer: Timer,
    /// What the down timer waits for (for [`Takeover`]).
    down_wait: DownWait,
    /// The last advert accepted ([`Heard`], flat so that the fields pack); `heard_at` is off
    /// until the first.
    heard_source: A,
    heard_priority: u8,
    heard_at: Timer,
    adver_timer: Timer,
    garp_timer: Timer,
    /// Index in [`Garp::repeat_at`](crate::Garp::repeat_at) of the burst `garp_timer` is for.
    garp_next: u8,
    /// An immediate advert (RFC 9568 §6.4.3) went out since the Adver_Timer last fired. Bounds
    /// the replies to one per interval, so a thawed Active that finds a queue of stale adverts
    /// answers once, not once per queued frame.
    replied: bool,
    /// The last advert was an Adver_Timer that fired an interval or more late (a thaw).
    overdue_advert: bool,
    /// When the last announcement went out (meaningful while Active: set on becoming Active).
    /// The last advert needs no field: every advert an Active sends restarts the Adver_Timer.
    last_announce: Instant,
    /// While Backup: from when it may preempt a lower-priority Active (keepalived's
    /// `preempt_delay`). Armed at startup, and again by the first lower-priority advert after an
    /// advert it could not preempt; off after any advert at or above its own priority. So a
    /// priority that has to hold for `preempt_delay` before the router takes over, which keeps a
    /// check that rises and falls again (a node still starting up, a service slow under load)
    /// from moving the VIP back and forth.
    preempt_timer: Timer,
    actions: Deque<Action<A>, ACTIONS>,
    stats: Stats,
}

impl<const N: usize, A: Address> VirtualRouter<N, A> {
    pub fn new(config: Config<N, A>) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(VirtualRouter {
            priority: config.priority,
            active_adver_interval: config.adver_interval,
            config,
            state: State::Initialize,
            down_timer: Timer::OFF,
            down_wait: DownWait::ActiveDownInterval,
            heard_source: A::MULTICAST,
            heard_priority: 0,
            heard_at: Timer::OFF,
            adver_timer: Timer::OFF,
            garp_timer: Timer::OFF,
            garp_next: 0,
            replied: false,
            overdue_advert: false,
            last_announce: Instant::from_ticks(0),
            preempt_timer: Timer::OFF,
            actions: Deque::new(),
            stats: Stats::default(),
        })
    }

    pub fn config(&self) -> &Config<N, A> {
        &self.config
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn priority(&self) -> u8 {
        self.priority
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The last advert accepted (from another router; our own looped back are not).
    pub fn last_advert(&self) -> Option<Heard<A>> {
        self.heard_at.get().map(|at| Heard {
            source: self.heard_source,
            priority: self.heard_priority,
            at,
        })
    }

    /// Active_Adver_Interval in centiseconds.
    pub fn active_adver_interval(&self) -> u16 {
        self.active_adver_interval
    }

    /// Skew_Time = ((256 - Priority) * Active_Adver_Interval) / 256, in microseconds.
    pub fn skew_time(&self) -> Duration {
        let interval_us = u64::from(self.active_adver_interval) * 10_000;
        Duration::from_micros((256 - u64::from(self.priority)) * interval_us / 256)
    }

    /// Active_Down_Interval = 3 * Active_Adver_Interval + Skew_Time.
    pub fn active_down_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.active_adver_interval) * 30_000) + self.skew_time()
    }

    fn adver_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.config.adver_interval) * 10_000)
    }

    /// True while Active packets to `addr` are this router's to accept (RFC 9568 §6.4.3):
    /// the VIPs, if it owns them or runs in Accept_Mode.
    pub fn accepts(&self, addr: A) -> bool {
        self.state == State::Active
            && (self.config.priority == 255 || self.config.accept_mode)
            && self.config.vips.contains(&addr)
    }

    /// The advertisement to send for [`Action::SendAdvert`].
    pub fn advert(&self, priority: u8) -> Repr<'_> {
        Repr {
            version: self.config.version,
            vrid: self.config.vrid,
            priority,
            max_adver_int: self.config.adver_interval,
            addresses: A::addresses(&self.config.vips),
            auth: self.config.auth,
        }
    }

    /// RFC 9568 §6.4.1: leave Initialize.
    pub fn startup(&mut self, now: Instant) {
        if self.state != State::Initialize {
            return;
        }
        self.preempt_timer = Timer::at(now + self.config.preempt_delay);
        if self.config.priority == 255 && self.priority == 255 {
            self.become_active(now, Reason::AddressOwner);
        } else {
            self.active_adver_interval = self.config.adver_interval;
            self.transition(State::Backup, Reason::Startup);
            self.arm_down_timer(now, self.active_down_interval());
        }
    }

    /// RFC 9568 §6.4.2/§6.4.3 Shutdown: an Active sends priority 0 so that a Backup takes over
    /// after Skew_Time instead of Active_Down_Interval.
    pub fn shutdown(&mut self, _now: Instant) {
        match self.state {
            State::Initialize => return,
            State::Active => {
                self.send_advert(0);
                self.push(Action::ReleaseVips);
            }
            State::Backup => {}
        }
        self.cancel_timers();
        self.transition(State::Initialize, Reason::Shutdown);
    }

    /// Sets the effective priority (health tracking). 0 means fault: never Active; an Active
    /// steps down with a priority-0 advert. Returns to service when it rises again.
    pub fn set_priority(&mut self, now: Instant, priority: u8) {
        if priority == self.priority {
            return;
        }
        let was = self.priority;
        self.priority = priority;
        match self.state {
            State::Active if priority == 0 => {
                self.send_advert(0);
                self.push(Action::ReleaseVips);
                self.adver_timer = Timer::OFF;
                self.garp_timer = Timer::OFF;
                self.transition(State::Backup, Reason::Fault);
                self.down_timer = Timer::OFF;
            }
            State::Backup if priority == 0 => self.down_timer = Timer::OFF,
            State::Backup if was == 0 => {
                // Back from a fault: like a start, the priority has to hold before preempting.
                self.preempt_timer = Timer::at(now + self.config.preempt_delay);
                self.arm_down_timer(now, self.active_down_interval());
            }
            _ => {}
        }
    }

    /// Processes a received advertisement from `source` (the IP source) that arrived with IP TTL
    /// `ttl`. Drops are counted in [`stats`](Self::stats) and returned.
    pub fn handle_advert(
        &mut self,
        now: Instant,
        source: A,
        ttl: u8,
        advert: &Repr<'_>,
    ) -> Result<(), DropReason> {
        let verdict = self.check(source, ttl, advert);
        match verdict {
            Err(reason) => {
                crate::log::warning!(
                    "vrid {}: advert dropped: {}",
                    self.config.vrid,
                    reason.as_str()
                );
                self.stats.drops[reason.index()] += 1;
                Err(reason)
            }
            Ok(false) => Ok(()),
            Ok(true) => {
                self.stats.adverts_received += 1;
                self.heard_source = source;
                self.heard_priority = advert.priority;
                self.heard_at = Timer::at(now);
                if !advert.addresses.same_set(&self.config.vips) {
                    self.stats.address_mismatches += 1;
                    self.push(Action::AddressMismatch { source });
                }
                self.process(now, source, advert);
                Ok(())
            }
        }
    }

    /// RFC 9568 §7.1 receive checks that need the configuration. `Ok(false)`: our own advert
    /// looped back, ignored without counting.
    fn check(&self, source: A, ttl: u8, advert: &Repr<'_>) -> Result<bool, DropReason> {
        if ttl != VRRP_TTL {
            return Err(DropReason::Ttl);
        }
        if !source.is_valid_source() {
            return Err(DropReason::Source);
        }
        if advert.vrid != self.config.vrid {
            return Err(DropReason::Vrid);
        }
        if advert.version != self.config.version {
            return Err(DropReason::VersionMismatch);
        }
        if !self.config.peers.is_empty() && !self.config.peers.contains(&source) {
            return Err(DropReason::Peer);
        }
        if self.config.version == Version::V2 {
            if advert.max_adver_int != self.config.adver_interval {
                return Err(DropReason::Interval);
            }
            if advert.auth != self.config.auth {
                return Err(DropReason::Auth);
            }
        }
        if source == self.config.primary {
            return Ok(false);
        }
        Ok(true)
    }

    fn process(&mut self, now: Instant, source: A, advert: &Repr<'_>) {
        match self.state {
            State::Initialize => {}
            State::Backup => {
                if advert.priority == 0 {
                    if self.priority != 0 {
                        self.down_timer = Timer::at(now + self.skew_time());
                        self.down_wait = DownWait::SkewTime;
                    }
                } else if !self.may_preempt(now, advert.priority) {
                    self.learn_interval(advert);
                    self.arm_down_timer(now, self.active_down_interval());
                }
                // else: a lower-priority Active and we may preempt; let the timer expire.
            }
            State::Active => {
                let higher = advert.priority > self.priority
                    || (advert.priority == self.priority && source > self.config.primary);
                if advert.priority != 0 && higher {
                    self.adver_timer = Timer::OFF;
                    self.garp_timer = Timer::OFF;
                    self.learn_interval(advert);
                    self.push(Action::ReleaseVips);
                    self.transition(State::Backup, Reason::HigherPriority);
                    self.arm_down_timer(now, self.active_down_interval());
                } else if advert.priority == 0 {
                    // The Active is leaving (RFC 9568 §6.4.3): re-assert at once, or the Backups
                    // take over after Skew_Time.
                    if !self.replied {
                        self.reply(now);
                    }
                } else {
                    // A lower priority (RFC 9568 §6.4.3): another router acts as Active (it
                    // took over while we were frozen or cut off, or it could not hear us).
                    // Re-assert at once; a running Active's last advert does not excuse a
                    // reply, since the sender evidently missed it. One exception: the first
                    // half interval after a thawed Active's overdue advert, when the others'
                    // adverts that arrive were sent before they heard it (they were Active
                    // during the freeze, and a router that was not frozen hears a frame as it
                    // arrives). That advert will move them; a second one would only add to the
                    // thaw's burst.
                    let last_advert = self.adver_timer.get().map(|t| t - self.adver_interval());
                    let crossed = self.overdue_advert
                        && last_advert.is_some_and(|t| now < t + self.adver_interval() / 2);
                    if !self.replied {
                        if crossed {
                            self.replied = true;
                        } else {
                            self.reply(now);
                        }
                        // It announced the VIPs from its own port, perhaps at its own MAC:
                        // announce them once more so that switches and neighbours follow us
                        // back (a unicast advert leaves from the node's own MAC and would not
                        // move a switch's entry for the virtual MAC). keepalived sends five per
                        // VIP for every such advert; the reply budget makes this one burst.
                        self.announce(now);
                    }
                }
            }
        }
    }

    /// An immediate advert, which restarts the Adver_Timer.
    fn reply(&mut self, now: Instant) {
        self.replied = true;
        self.send_advert(self.priority);
        self.adver_timer = Timer::at(now + self.adver_interval());
    }

    /// Whether a Backup may let its Active_Down_Timer run out on an Active advertising
    /// `priority` (not 0), and so take over. Keeps [`Self::preempt_timer`] as keepalived keeps
    /// its preempt time: an advert it cannot outrank stops the delay, the first one it can
    /// outrank starts it.
    fn may_preempt(&mut self, now: Instant, priority: u8) -> bool {
        if !self.config.preempt {
            return false;
        }
        if priority >= self.priority {
            self.preempt_timer = Timer::OFF;
            return false;
        }
        let Some(from) = self.preempt_timer.get() else {
            self.preempt_timer = Timer::at(now + self.config.preempt_delay);
            return self.config.preempt_delay == Duration::from_ticks(0);
        };
        now >= from
    }

    fn learn_interval(&mut self, advert: &Repr<'_>) {
        if self.config.version == Version::V3 {
            self.active_adver_interval = advert.max_adver_int;
        }
    }

    /// Fires every timer that is due at `now`, each at most once. Returns why, if this made
    /// a Backup take over ([`Reason::ActiveDown`]).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Takeover<A>> {
        let due = |t: Timer| t.get().is_some_and(|t| t <= now);
        match self.state {
            State::Backup if due(self.down_timer) => {
                let takeover = Takeover {
                    wait: self.down_wait,
                    deadline: self.down_timer.0,
                    fired: now,
                    last_advert: self.last_advert(),
                };
                self.become_active(now, Reason::ActiveDown);
                return Some(takeover);
            }
            State::Active => {
                if let Some(deadline) = self.adver_timer.get().filter(|t| *t <= now) {
                    self.replied = false;
                    self.send_advert(self.priority);
                    // An interval or more late: at least one advert was missed, the router
                    // did not run (a freeze).
                    self.overdue_advert = now >= deadline + self.adver_interval();
                    self.adver_timer = Timer::at(now + self.adver_interval());
                }
                if let Some(scheduled) = self.garp_timer.get().filter(|t| *t <= now) {
                    // A reply that went out at or after the scheduled instant (a thaw's queued
                    // adverts come first) already did this burst's work.
                    if self.last_announce < scheduled {
                        self.announce(now);
                    }
                    let since = scheduled - self.garp_offset(self.garp_next);
                    self.schedule_garp(since, now);
                }
            }
            _ => {}
        }
        None
    }

    /// Counts an advert the driver dropped before it could be parsed into a [`Repr`].
    pub fn count_drop(&mut self, reason: DropReason) {
        self.stats.drops[reason.index()] += 1;
    }

    /// The earliest instant [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.down_timer, self.adver_timer, self.garp_timer]
            .into_iter()
            .filter_map(Timer::get)
            .min()
    }

    pub fn poll_action(&mut self) -> Option<Action<A>> {
        self.actions.pop_front()
    }

    /// Whether [`poll_action`](Self::poll_action) has an action to hand out.
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    fn become_active(&mut self, now: Instant, reason: Reason) {
        self.down_timer = Timer::OFF;
        self.replied = false;
        self.transition(State::Active, reason);
        self.send_advert(self.priority);
        self.push(Action::ClaimVips);
        self.announce(now);
        self.adver_timer = Timer::at(now + self.adver_interval());
        self.garp_next = 0;
        self.schedule_garp(now, now);
    }

    fn announce(&mut self, now: Instant) {
        self.last_announce = now;
        self.push(Action::Announce {
            count: self.config.garp.burst,
        });
    }

    /// Arms the GARP timer for the next burst after `now` of the schedule that began at
    /// `since` (the takeover), then for the next refresh on the grid of multiples of the
    /// refresh period after `since`. Bursts whose instant passed while the router was frozen
    /// are skipped: overdue, they fired once.
    fn schedule_garp(&mut self, since: Instant, now: Instant) {
        while let Some(offset) = self.config.garp.repeat(self.garp_next) {
            if since + offset > now {
                self.garp_timer = Timer::at(since + offset);
                return;
            }
            self.garp_next += 1;
        }
        self.garp_timer = match self.config.garp.refresh() {
            Some(every) => {
                let every = every.as_ticks();
                let periods = (now - since).as_ticks() / every + 1;
                Timer::at(since + Duration::from_ticks(every * periods))
            }
            None => Timer::OFF,
        };
    }

    /// The offset of burst `k`; the takeover instant is the GARP timer's deadline minus it.
    /// Past the schedule (a refresh) it is 0: the refresh's own instant is on the grid.
    fn garp_offset(&self, k: u8) -> Duration {
        self.config
            .garp
            .repeat(k)
            .unwrap_or(Duration::from_ticks(0))
    }

    fn arm_down_timer(&mut self, now: Instant, after: Duration) {
        self.down_timer = Timer::at_if(self.priority != 0, now + after);
        self.down_wait = DownWait::ActiveDownInterval;
    }

    fn cancel_timers(&mut self) {
        self.down_timer = Timer::OFF;
        self.adver_timer = Timer::OFF;
        self.garp_timer = Timer::OFF;
    }

    fn send_advert(&mut self, priority: u8) {
        self.overdue_advert = false;
        self.stats.adverts_sent += 1;
        self.push(Action::SendAdvert { priority });
    }

    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        crate::log::debug!(
            "vrid {}: {} -> {} ({})",
            self.config.vrid,
            from.as_str(),
            to.as_str(),
            reason.as_str()
        );
        self.state = to;
        self.stats.transitions += 1;
        self.push(Action::StateChange { from, to, reason });
    }

    fn push(&mut self, action: Action<A>) {
        // The queue holds more than one event can produce; a driver that never drains it loses
        // the oldest entries rather than the newest, which keeps the latest state visible.
        if self.actions.is_full() {
            self.actions.pop_front();
        }
        let _ = self.actions.push_back(action);
    }
}
