//! `[scripts]`, and `user` / `group` of command checks and notify hooks: who runs the commands
//! vrrpd starts, and whether their files must be safe from other users (keepalived's
//! `script_user` and `enable_script_security`).
//!
//! A daemon that runs as root does not run the commands as root unless told to: they run as
//! `scripts.user`, by default `nobody`, with the user's primary group (or `group`) and no
//! supplementary groups. A vrrpd that is not root runs them as itself. With `security = true`
//! every command's program, and every directory above it, must be owned by root and writable
//! by no one else, else the configuration is refused: a user who can rewrite a script or swap a
//! directory above it would otherwise run code as the script user (root, if so configured).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Group, Uid, User};
use toml::Spanned;

use super::ConfigError;
use super::raw::RawScripts;
use super::validate::Validator;

/// Who runs the commands when `scripts.user` is not set and vrrpd is root.
pub const DEFAULT_SCRIPT_USER: &str = "nobody";

/// The user and group a command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// A name or a numeric uid, as configured (or the default).
    pub user: String,
    /// A name or a numeric gid; `None`: the user's primary group.
    pub group: Option<String>,
    /// `(uid, gid)`, looked up when the configuration was loaded on this host
    /// ([`Config::load`](super::Config::load)); `None` after a mere
    /// [`Config::parse`](super::Config::parse), and then looked up at each run.
    pub ids: Option<(u32, u32)>,
}

impl RunAs {
    /// The uid and gid to run as.
    pub fn ids(&self) -> Result<(u32, u32), String> {
        match self.ids {
            Some(ids) => Ok(ids),
            None => lookup(&self.user, self.group.as_deref()),
        }
    }
}

impl std::fmt::Display for RunAs {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.user)?;
        if let Some(g) = &self.group {
            write!(f, ":{g}")?;
        }
        if let Some((uid, gid)) = self.ids {
            write!(f, " (uid {uid}, gid {gid})")?;
        }
        Ok(())
    }
}

/// `[scripts]`: the default user of every command, and the file-safety rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptsConfig {
    /// `None`: vrrpd is not root and runs commands as itself.
    pub run_as: Option<RunAs>,
    pub security: bool,
}

impl Validator<'_> {
    pub(super) fn scripts(&self, raw: Option<&RawScripts>) -> Result<ScriptsConfig, ConfigError> {
        let (user, group, security) = match raw {
            None => (None, None, false),
            Some(r) => (
                r.user.as_ref(),
                r.group.as_ref(),
                r.security.unwrap_or(false),
            ),
        };
        let run_as = match (user, group) {
            (Some(u), g) => Some(self.run_as(u, g)?),
            (None, g) if Uid::effective().is_root() => {
                let mut r = RunAs {
                    user: DEFAULT_SCRIPT_USER.into(),
                    group: g.map(|g| g.get_ref().clone()),
                    ids: None,
                };
                if self.host {
                    r.ids = Some(lookup(&r.user, r.group.as_deref()).or_else(|why| {
                        self.err(
                            g.map_or(0..0, |g| g.span()),
                            format!(
                                "{why}: commands run as \"{DEFAULT_SCRIPT_USER}\" unless \
                                 scripts.user names another user (\"root\" to keep root)"
                            ),
                        )
                    })?);
                }
                Some(r)
            }
            (None, None) => None,
            (None, Some(g)) => return self.err(g.span(), "`group` needs `user`"),
        };
        Ok(ScriptsConfig { run_as, security })
    }

    /// A command's own `user` / `group`, else the `[scripts]` default.
    pub(super) fn command_user(
        &self,
        scripts: &ScriptsConfig,
        user: Option<&Spanned<String>>,
        group: Option<&Spanned<String>>,
    ) -> Result<Option<RunAs>, ConfigError> {
        match (user, group) {
            (Some(u), g) => Ok(Some(self.run_as(u, g)?)),
            (None, None) => Ok(scripts.run_as.clone()),
            (None, Some(g)) => match &scripts.run_as {
                Some(d) => {
                    let r = RunAs {
                        user: d.user.clone(),
                        group: Some(g.get_ref().clone()),
                        ids: None,
                    };
                    self.resolved(r, g.span()).map(Some)
                }
                None => self.err(g.span(), "`group` needs `user`"),
            },
        }
    }

    /// With `scripts.security`, refuses a program that another user could change. Only on the
    /// host that loads the file to run it.
    pub(super) fn command_safe(
        &self,
        scripts: &ScriptsConfig,
        argv: &Spanned<Vec<String>>,
    ) -> Result<(), ConfigError> {
        if !scripts.security || !self.host {
            return Ok(());
        }
        unsafe_path(&argv.get_ref()[0]).map_or(Ok(()), |why| {
            self.err(
                argv.span(),
                format!(
                    "{why}; with scripts.security = true a command's program and every \
                     directory above it must be owned by root and writable by root only"
                ),
            )
        })
    }

    fn run_as(
        &self,
        user: &Spanned<String>,
        group: Option<&Spanned<String>>,
    ) -> Result<RunAs, ConfigError> {
        if user.get_ref().is_empty() {
            return self.err(user.span(), "a user name is not empty");
        }
        let r = RunAs {
            user: user.get_ref().clone(),
            group: group.map(|g| g.get_ref().clone()),
            ids: None,
        };
        // A missing group is the likelier mistake when both are named.
        self.resolved(r, group.unwrap_or(user).span())
    }

    /// `r` with its ids when loading on the host; an unknown name is an error at `span`.
    fn resolved(&self, mut r: RunAs, span: std::ops::Range<usize>) -> Result<RunAs, ConfigError> {
        if self.host {
            r.ids = Some(lookup(&r.user, r.group.as_deref()).or_else(|why| self.err(span, why))?);
        }
        Ok(r)
    }
}

/// The uid of `user` and the gid of `group` (else the user's primary group); numbers are taken
/// as ids, a uid even when no user has it.
fn lookup(user: &str, group: Option<&str>) -> Result<(u32, u32), String> {
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(user),
    }
    .map_err(|e| format!("looking up user {user:?}: {e}"))?;
    let (uid, primary) = match (found, user.parse::<u32>()) {
        (Some(u), _) => (u.uid.as_raw(), Some(u.gid.as_raw())),
        (None, Ok(uid)) => (uid, None),
        (None, Err(_)) => return Err(format!("no user {user:?} on this system")),
    };
    let gid = match group {
        None => primary.ok_or_else(|| {
            format!("uid {uid} has no entry in the user database: name a `group`")
        })?,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => Group::from_name(g)
                .map_err(|e| format!("looking up group {g:?}: {e}"))?
                .ok_or_else(|| format!("no group {g:?} on this system"))?
                .gid
                .as_raw(),
        },
    };
    Ok((uid, gid))
}

/// Why `program` is unsafe to run (keepalived's `enable_script_security` rule), or `None`.
/// Looks at the file and every directory above it, both along the path as written (a writable
/// directory could swap a symbolic link in it) and along the path the links lead to.
pub fn unsafe_path(program: &str) -> Option<String> {
    let written = match find_program(program) {
        Some(p) => p,
        None => return Some(format!("{program}: not found (in PATH)")),
    };
    let real = match std::fs::canonicalize(&written) {
        Ok(p) => p,
        Err(e) => return Some(format!("{}: {e}", written.display())),
    };
    for path in [&written, &real] {
        for p in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
            let meta = match std::fs::metadata(p) {
                Ok(m) => m,
                Err(e) => return Some(format!("{}: {e}", p.display())),
            };
            let what = if p == path.as_path() {
                "the program"
            } else {
                "a directory above the program"
            };
            let mode = meta.mode() & 0o7777;
            if meta.uid() != 0 {
                return Some(format!(
                    "{} ({what}) is owned by uid {}, not root",
                    p.display(),
                    meta.uid()
                ));
            }
            if mode & 0o022 != 0 {
                return Some(format!(
                    "{} ({what}) is writable by {} (mode {mode:04o})",
                    p.display(),
                    if mode & 0o002 != 0 {
                        "others"
                    } else {
                        "its group"
                    }
                ));
            }
        }
    }
    None
}

/// `program` as `execvp` would find it: a path with a `/` as it is (relative to the current
/// directory), a bare name in `PATH`.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = std::path::absolute(program).ok()?;
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}
