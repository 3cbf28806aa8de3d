//! The raw, spanned schema: what serde reads before validation.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::duration::Dur;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) interface: Spanned<String>,
    pub(super) datapath: Option<Spanned<String>>,
    pub(super) status: Option<RawStatus>,
    pub(super) control: Option<RawControl>,
    pub(super) log: Option<RawLog>,
    pub(super) vrrp: Spanned<Vec<Spanned<RawRouter>>>,
    #[serde(default)]
    pub(super) check: BTreeMap<Spanned<String>, Spanned<RawCheck>>,
    pub(super) notify: Option<OneOrMany<RawNotify>>,
    pub(super) supervise: Option<Spanned<RawSupervise>>,
    pub(super) process: Option<RawProcess>,
    pub(super) scripts: Option<RawScripts>,
    pub(super) startup_delay: Option<Spanned<Dur>>,
    #[serde(default)]
    pub(super) sync_group: Vec<Spanned<RawSyncGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSyncGroup {
    pub(super) name: Spanned<String>,
    pub(super) vrids: Spanned<Vec<Spanned<i64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervise {
    pub(super) command: Spanned<Vec<String>>,
    pub(super) grace: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcess {
    pub(super) realtime_priority: Option<Spanned<i64>>,
    pub(super) lock_memory: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScripts {
    pub(super) user: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) security: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStatus {
    pub(super) listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControl {
    pub(super) socket: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) format: Option<Spanned<String>>,
    pub(super) level: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouter {
    pub(super) vrid: Spanned<i64>,
    /// The uplink this router runs on; default: the file's `interface`.
    pub(super) interface: Option<Spanned<String>>,
    pub(super) version: Option<Spanned<i64>>,
    pub(super) priority: Spanned<i64>,
    pub(super) interval: Option<Spanned<Dur>>,
    pub(super) vips: Spanned<Vec<Spanned<String>>>,
    pub(super) preempt: Option<bool>,
    pub(super) preempt_delay: Option<Spanned<Dur>>,
    pub(super) accept: Option<bool>,
    pub(super) checksum: Option<Spanned<String>>,
    pub(super) auth_pass: Option<Spanned<String>>,
    pub(super) garp: Option<Spanned<RawGarp>>,
    #[serde(default)]
    pub(super) peers: Vec<Spanned<String>>,
    pub(super) primary: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) track: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGarp {
    pub(super) burst: Option<Spanned<i64>>,
    pub(super) repeat_at: Option<Spanned<Vec<Spanned<Dur>>>>,
    /// The older form of `repeat_at`: this many bursts, `repeat_delay` apart.
    pub(super) repeats: Option<Spanned<i64>>,
    pub(super) repeat_delay: Option<Spanned<Dur>>,
    /// A burst every this long while Active, after the schedule; 0 = never.
    pub(super) refresh: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub(super) kind: Spanned<String>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) expect_status: Option<Spanned<i64>>,
    pub(super) body: Option<Spanned<String>>,
    pub(super) addr: Option<Spanned<String>>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) pidfile: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<Vec<String>>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) interface: Option<Spanned<String>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) reverse: Option<Spanned<bool>>,
    pub(super) init: Option<Spanned<i64>>,
    pub(super) overwrite: Option<Spanned<bool>>,
    pub(super) interval: Option<Spanned<Dur>>,
    pub(super) timeout: Option<Spanned<Dur>>,
    pub(super) rise: Option<Spanned<i64>>,
    pub(super) fall: Option<Spanned<i64>>,
    pub(super) weight: Option<Spanned<i64>>,
    pub(super) fault: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) command: Spanned<Vec<String>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<Dur>>,
}

/// `notify` as one inline table or an array of tables. `T` cannot be `Spanned`: the map of a
/// single table reaches it through serde's `MapAccessDeserializer`, which knows nothing of the
/// toml deserializer's span protocol.
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table or an array of tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
