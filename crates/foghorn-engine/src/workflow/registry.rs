//! The workflows a node knows: the built-in pack, overridden by files, then
//! by documents stored per tenant through the API.

use super::render::part_names;
use super::{Workflow, WorkflowError};
use foghorn_core::Channel;
use foghorn_core::TenantId;
use minijinja::{AutoEscape, Environment};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// Where a workflow document came from, which decides what it may refer
/// to: the operator's own files may name `env:`/`file:` secrets; a tenant's
/// document (through the API) is taken literally and its URLs obey the
/// tenants' private-target rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Operator,
    Tenant { allow_private: bool },
}

/// A validated workflow with its templates parsed.
pub struct CompiledWorkflow {
    /// The document as written: `url = "env:NAME"` stays a reference, so
    /// reading the workflow back never shows the secret it resolves to.
    pub doc: Workflow,
    pub(crate) env: Environment<'static>,
    /// Each step's destination URL, resolved.
    targets: Vec<Option<String>>,
    pub source: Source,
    /// When the stored document was written (ms); 0 for files and the pack.
    pub version: i64,
}

impl CompiledWorkflow {
    /// Where team step `step` goes (its `url`, resolved), if anywhere.
    pub fn target(&self, step: usize) -> Option<&str> {
        self.targets.get(step)?.as_deref()
    }

    /// Whether the document was a tenant's, so its URLs are untrusted.
    pub fn from_tenant(&self) -> bool {
        matches!(self.source, Source::Tenant { .. })
    }
}

impl std::fmt::Debug for CompiledWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledWorkflow")
            .field("name", &self.doc.name)
            .finish()
    }
}

pub struct Registry {
    /// Pack and file templates, shared by every workflow.
    base: Environment<'static>,
    global: HashMap<String, Arc<CompiledWorkflow>>,
    tenants: RwLock<HashMap<(TenantId, String), Arc<CompiledWorkflow>>>,
    /// How documents from tenants are compiled on this node.
    tenant_source: Source,
    /// Reads the operator's `env:`/`file:` references in its own workflow
    /// files. Given by the binary, which owns the environment and the
    /// files; tenants' documents never reach it.
    resolve: Resolve,
}

/// Resolves one operator reference: `Ok(None)` for a plain value, `Err`
/// with a reason when it names something absent.
pub type Resolve = Box<dyn Fn(&str) -> Result<Option<String>, String> + Send + Sync>;

fn base_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with("/html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    super::render::limit(&mut env);
    env
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

impl Registry {
    /// Loads the pack, then `workflows_dir/*.toml` and `templates_dir/**`
    /// (either may be missing).
    pub fn load(
        workflows_dir: &Path,
        templates_dir: &Path,
        tenant_source: Source,
        resolve: Resolve,
    ) -> Result<Registry, WorkflowError> {
        let mut base = base_env();
        for (name, text) in super::pack::files_under("templates") {
            base.add_template_owned(name.to_string(), text.to_string())
                .map_err(|source| WorkflowError::Template {
                    name: name.into(),
                    source,
                })?;
        }
        for (name, text) in read_tree(templates_dir)? {
            base.add_template_owned(name.clone(), text)
                .map_err(|source| WorkflowError::Template { name, source })?;
        }
        let mut registry = Registry {
            base,
            global: HashMap::new(),
            tenants: RwLock::new(HashMap::new()),
            tenant_source,
            resolve,
        };
        for doc in super::system::documents() {
            let compiled = registry.compile(doc, Source::Operator)?;
            registry
                .global
                .insert(compiled.doc.name.clone(), Arc::new(compiled));
        }
        for (file, text) in super::pack::files_under("workflows") {
            let doc = parse_toml(&format!("pack/workflows/{file}"), text)?;
            let compiled = registry.compile(doc, Source::Operator)?;
            registry
                .global
                .insert(compiled.doc.name.clone(), Arc::new(compiled));
        }
        for (file, text) in read_tree(workflows_dir)? {
            if !file.ends_with(".toml") {
                continue;
            }
            let origin = workflows_dir.join(&file).display().to_string();
            let doc = parse_toml(&origin, &text)?;
            let compiled = registry.compile(doc, Source::Operator)?;
            registry
                .global
                .insert(compiled.doc.name.clone(), Arc::new(compiled));
        }
        Ok(registry)
    }

    /// Validates a document and parses its templates.
    pub fn compile(
        &self,
        doc: Workflow,
        source: Source,
    ) -> Result<CompiledWorkflow, WorkflowError> {
        let invalid = |message: String| WorkflowError::Invalid {
            origin: format!("workflow `{}`", doc.name),
            message,
        };
        if !valid_name(&doc.name) {
            return Err(invalid(
                "name must be 1-100 characters of a-z, 0-9, '.', '_' or '-'".into(),
            ));
        }
        if doc.steps.is_empty() && doc.cancels.is_empty() {
            return Err(invalid(
                "needs at least one step (or `cancels`, for an event that only cancels)".into(),
            ));
        }
        if let Some(series) = &doc.series {
            if let Some(p) =
                super::series::problem(series, doc.at.as_deref(), doc.anchor.as_deref())
            {
                return Err(invalid(p));
            }
        } else if doc.at.is_some() || doc.anchor.is_some() {
            return Err(invalid("at and anchor belong to a series".into()));
        }
        if doc.cancels.len() > 10 || doc.cancels.iter().any(|c| !valid_name(c)) {
            return Err(invalid("cancels names up to 10 workflows".into()));
        }
        if let Some(p) = doc
            .throttle
            .iter()
            .find_map(super::noise::Throttle::problem)
        {
            return Err(invalid(p));
        }
        if doc.throttle.len() > 4 {
            return Err(invalid("at most 4 throttles".into()));
        }
        if let Some(p) = doc.dedupe.as_deref().and_then(super::noise::dedupe_problem) {
            return Err(invalid(p));
        }
        let mut env = self.base.clone();
        let mut targets = Vec::with_capacity(doc.steps.len());
        for (i, s) in doc.steps.iter().enumerate() {
            let target = match &s.url {
                None => None,
                Some(url) => step_target(&doc.name, i, url, source, &*self.resolve)?,
            };
            targets.push(target);
            for (part, source) in [
                ("subject", &s.subject),
                ("html", &s.html),
                ("text", &s.text),
                ("body", &s.body),
            ] {
                if let Some(src) = source {
                    // `inline/N/html` is HTML-escaped by the auto-escape callback.
                    let name = format!("inline/{i}/{part}");
                    env.add_template_owned(name.clone(), src.clone())
                        .map_err(|source| WorkflowError::Template { name, source })?;
                }
            }
            if let Some(cond) = &s.condition {
                env.compile_expression(cond)
                    .map_err(|source| WorkflowError::Template {
                        name: format!("steps[{i}].if"),
                        source,
                    })?;
            }
            let step_error = |message: &str| WorkflowError::Step {
                step: i,
                channel: s.channel.to_string(),
                message: message.to_string(),
            };
            let chat = matches!(s.channel, Channel::Slack | Channel::Discord);
            if let Some(d) = &s.destination {
                if !chat {
                    return Err(step_error("destination is for slack and discord steps"));
                }
                let fits = match d.strip_prefix('#') {
                    Some(name) => super::document::valid_destination_name(name),
                    None => super::document::valid_channel_id(d),
                };
                if !fits {
                    return Err(step_error(
                        "destination must be a channel id (letters and digits) or #name (lower-case letters, digits, - and _)",
                    ));
                }
                if s.url.is_some() {
                    return Err(step_error("a step has a url or a destination, not both"));
                }
            }
            if let Some(m) = &s.mention {
                if !chat || !super::document::valid_mention(m) {
                    return Err(step_error(
                        "mention must be <@&ROLE>, <@USER>, <!subteam^GROUP> or <!here>, on a slack or discord step",
                    ));
                }
            }
            if s.severity != foghorn_core::Severity::Info && !chat {
                return Err(step_error("severity is for slack and discord steps"));
            }
            if let Some(e) = &s.escalate {
                if s.is_team() {
                    return Err(step_error("escalate is for steps that reach people"));
                }
                if let Some(problem) = e.problem() {
                    return Err(step_error(&problem));
                }
            }
            if let Some(d) = &s.digest {
                if s.is_team() {
                    return Err(step_error("digest is for steps that reach people"));
                }
                if doc.series.is_some() {
                    return Err(step_error("a series' reminders are not digested"));
                }
                if let Some(problem) = d.problem() {
                    return Err(step_error(&problem));
                }
            }
            if let Some(t) = &s.whatsapp_template {
                if s.channel != Channel::Whatsapp {
                    return Err(step_error("whatsapp_template is for whatsapp steps"));
                }
                if let Some(problem) = t.problem() {
                    return Err(step_error(problem));
                }
                for (k, param) in t.params.iter().enumerate() {
                    env.template_from_str(param)
                        .map_err(|source| WorkflowError::Template {
                            name: format!("steps[{i}].whatsapp_template.params[{k}]"),
                            source,
                        })?;
                }
            }
            if s.acknowledge && s.channel == Channel::Webhook {
                return Err(step_error(
                    "acknowledge is for steps a person reads (not webhooks)",
                ));
            }
            if s.max_segments == Some(0) {
                return Err(WorkflowError::Step {
                    step: i,
                    channel: s.channel.to_string(),
                    message: "max_segments must be at least 1".into(),
                });
            }
            if s.fallback == Some(s.channel) {
                return Err(WorkflowError::Step {
                    step: i,
                    channel: s.channel.to_string(),
                    message: "fallback must be another channel".into(),
                });
            }
        }
        let compiled = CompiledWorkflow {
            doc,
            env,
            targets,
            source,
            version: 0,
        };
        for (i, s) in compiled.doc.steps.iter().enumerate() {
            let escalations = s.escalate.iter().flat_map(|e| e.to.iter().copied());
            for channel in std::iter::once(s.channel)
                .chain(s.fallback)
                .chain(escalations)
            {
                if let Some(missing) = missing_template(&compiled, i, channel) {
                    return Err(WorkflowError::Step {
                        step: i,
                        channel: channel.to_string(),
                        message: missing,
                    });
                }
            }
        }
        Ok(compiled)
    }

    /// The workflow answering `name` for `tenant`.
    pub fn get(&self, tenant: &TenantId, name: &str) -> Option<Arc<CompiledWorkflow>> {
        if let Ok(t) = self.tenants.read() {
            if let Some(w) = t.get(&(tenant.clone(), name.to_string())) {
                return Some(w.clone());
            }
        }
        self.global.get(name).cloned()
    }

    /// Installs a tenant's stored document (already validated by `compile`).
    pub fn install(&self, tenant: &TenantId, w: Arc<CompiledWorkflow>) -> Arc<CompiledWorkflow> {
        if let Ok(mut t) = self.tenants.write() {
            let key = (tenant.clone(), w.doc.name.clone());
            // A newer version installed meanwhile (by the follower) wins.
            match t.get(&key) {
                Some(old) if old.version > w.version => return old.clone(),
                _ => {
                    t.insert(key, w.clone());
                }
            }
        }
        w
    }

    /// Forgets a tenant's document (after its deletion through this node).
    pub fn remove(&self, tenant: &TenantId, name: &str) {
        if let Ok(mut t) = self.tenants.write() {
            t.remove(&(tenant.clone(), name.to_string()));
        }
    }

    /// The workflow answering `name` for `tenant`, read from the store when
    /// this node has not seen it yet (it may have been written through
    /// another node a moment ago).
    pub async fn get_or_load(
        &self,
        store: &foghorn_store::Store,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<Arc<CompiledWorkflow>>, String> {
        self.get_planned(store, tenant, name, None).await
    }

    /// Like [`Self::get_or_load`], for a notification planned with version
    /// `planned` of a tenant's workflow: a copy older than that is replaced
    /// by the stored one first, so the accepting node and the worker agree.
    pub async fn get_planned(
        &self,
        store: &foghorn_store::Store,
        tenant: &TenantId,
        name: &str,
        planned: Option<i64>,
    ) -> Result<Option<Arc<CompiledWorkflow>>, String> {
        let current = self.get(tenant, name);
        let stale = match (&current, planned) {
            (Some(w), Some(v)) => w.version < v,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !stale {
            return Ok(current);
        }
        match store
            .workflow(tenant, name)
            .await
            .map_err(|e| e.to_string())?
        {
            None => Ok(current),
            Some(row) => self.apply_row(&row).map_err(|e| e.to_string()),
        }
    }

    /// How a tenant's document is compiled here.
    pub fn tenant_source(&self) -> Source {
        self.tenant_source
    }

    /// Brings a stored row into the registry: compiled and installed, or,
    /// for a tombstone, removed. A row no newer than what is installed is
    /// left alone, so following changes costs nothing when none happened.
    pub fn apply_row(
        &self,
        row: &foghorn_store::WorkflowRow,
    ) -> Result<Option<Arc<CompiledWorkflow>>, WorkflowError> {
        let key = (row.tenant_id.clone(), row.name.clone());
        let installed = self.tenants.read().ok().and_then(|t| t.get(&key).cloned());
        if let Some(w) = &installed {
            if w.version >= row.updated_at {
                return Ok(installed);
            }
        }
        if row.document.is_empty() {
            if let Ok(mut t) = self.tenants.write() {
                if t.get(&key).is_some_and(|w| w.version < row.updated_at) {
                    t.remove(&key);
                }
            }
            return Ok(None);
        }
        let doc: Workflow =
            serde_json::from_str(&row.document).map_err(|e| WorkflowError::Invalid {
                origin: format!("stored workflow `{}`", row.name),
                message: e.to_string(),
            })?;
        let mut compiled = self.compile(doc, self.tenant_source)?;
        compiled.version = row.updated_at;
        Ok(Some(self.install(&row.tenant_id, Arc::new(compiled))))
    }

    /// Every workflow a tenant sees, by name.
    pub fn names(&self, tenant: &TenantId) -> Vec<String> {
        let mut names: Vec<String> = self.global.keys().cloned().collect();
        if let Ok(t) = self.tenants.read() {
            names.extend(
                t.keys()
                    .filter(|(tn, _)| tn == tenant)
                    .map(|(_, n)| n.clone()),
            );
        }
        names.sort();
        names.dedup();
        names
    }
}

/// Resolves and checks a step's `url`. The operator's references name its
/// own environment and files; a tenant's document never reads either, and
/// its URL must not point at a private address unless tenants are allowed
/// to. A reference whose variable is unset leaves the step without a
/// destination (it is then suppressed with that reason, not sent).
fn step_target(
    workflow: &str,
    step: usize,
    url: &str,
    source: Source,
    resolve: &(dyn Fn(&str) -> Result<Option<String>, String> + Send + Sync),
) -> Result<Option<String>, WorkflowError> {
    let refused = |message: String| WorkflowError::Field {
        field: format!("steps[{step}].url"),
        message,
    };
    let resolved = match source {
        Source::Tenant { .. } if crate::config::is_reference(url) => return Err(refused(
            "`env:` and `file:` references are for the operator's own files; write the URL itself"
                .into(),
        )),
        Source::Tenant { .. } => url.to_string(),
        Source::Operator => match resolve(url) {
            Ok(Some(v)) => v,
            Ok(None) => url.to_string(),
            Err(e) => {
                tracing::warn!(workflow, step, reason = %e, "a workflow step's url does not resolve; its notifications are suppressed until it does");
                return Ok(None);
            }
        },
    };
    let parsed =
        url::Url::parse(resolved.trim()).map_err(|e| refused(format!("not a URL: {e}")))?;
    let allow_private = match source {
        // The operator's targets are judged when sending, by its own rule.
        Source::Operator => true,
        Source::Tenant { allow_private } => allow_private,
    };
    foghorn_core::net_policy::check_target(
        &parsed,
        foghorn_core::net_policy::Family::Http,
        allow_private,
    )
    .map_err(|e| refused(e.to_string()))?;
    Ok(Some(resolved.trim().to_string()))
}

/// A person step needs the parts its channel requires; None when complete.
fn missing_template(w: &CompiledWorkflow, step: usize, channel: Channel) -> Option<String> {
    let has = |part: &str| w.template_name(step, channel, part).is_some();
    let folder = w.doc.steps[step].template.as_deref().unwrap_or("(none)");
    match channel {
        Channel::Webhook => None,
        Channel::Email if !has("subject") => Some(format!(
            "needs an email subject (inline `subject` or templates/{folder}/email.subject)"
        )),
        Channel::Email if !has("html") && !has("text") => Some(format!(
            "needs an email body (inline `html`/`text` or templates/{folder}/email.html)"
        )),
        Channel::Email => None,
        // A template alone is a whole WhatsApp message.
        Channel::Whatsapp if w.doc.steps[step].whatsapp_template.is_some() => None,
        other => {
            let file = part_names(other)[0].1;
            (!has("text"))
                .then(|| format!("needs text (inline `text` or templates/{folder}/{file})"))
        }
    }
}

fn parse_toml(origin: &str, text: &str) -> Result<Workflow, WorkflowError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        WorkflowError::Invalid {
            origin: format!("{origin}:{line}"),
            message: e.message().to_string(),
        }
    })
}

/// Files below `dir` as (relative path, text); an absent folder is empty.
fn read_tree(dir: &Path) -> Result<Vec<(String, String)>, WorkflowError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(WorkflowError::Io { path: d, source }),
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = std::fs::read_to_string(&p).map_err(|source| WorkflowError::Io {
                    path: p.clone(),
                    source,
                })?;
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Ok(out)
}
