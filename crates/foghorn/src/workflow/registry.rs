//! The workflows a node knows: the built-in pack, overridden by files, then
//! by documents stored per tenant through the API.

use super::render::part_names;
use super::{Workflow, WorkflowError};
use foghorn_core::Channel;
use minijinja::{AutoEscape, Environment};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// A validated workflow with its templates parsed.
pub struct CompiledWorkflow {
    pub doc: Workflow,
    pub(crate) env: Environment<'static>,
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
    tenants: RwLock<HashMap<(String, String), Arc<CompiledWorkflow>>>,
}

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
    pub fn load(workflows_dir: &Path, templates_dir: &Path) -> Result<Registry, WorkflowError> {
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
        };
        for doc in super::system::documents() {
            let compiled = registry.compile(doc)?;
            registry
                .global
                .insert(compiled.doc.name.clone(), Arc::new(compiled));
        }
        for (file, text) in super::pack::files_under("workflows") {
            let doc = parse_toml(&format!("pack/workflows/{file}"), text)?;
            let compiled = registry.compile(doc)?;
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
            let compiled = registry.compile(doc)?;
            registry
                .global
                .insert(compiled.doc.name.clone(), Arc::new(compiled));
        }
        Ok(registry)
    }

    /// Validates a document and parses its templates.
    pub fn compile(&self, mut doc: Workflow) -> Result<CompiledWorkflow, WorkflowError> {
        let invalid = |message: String| WorkflowError::Invalid {
            origin: format!("workflow `{}`", doc.name),
            message,
        };
        if !valid_name(&doc.name) {
            return Err(invalid(
                "name must be 1-100 characters of a-z, 0-9, '.', '_' or '-'".into(),
            ));
        }
        if doc.steps.is_empty() {
            return Err(invalid("needs at least one step".into()));
        }
        let mut env = self.base.clone();
        for (i, s) in doc.steps.iter_mut().enumerate() {
            if let Some(url) = s.url.take() {
                s.url = match crate::config::resolve_secret(
                    &url,
                    &std::env::vars().collect::<Vec<_>>(),
                ) {
                    Ok(Some(v)) => Some(v),
                    Ok(None) => Some(url),
                    // An unset variable leaves the step without a destination:
                    // the sandbox still takes it, a real provider refuses it.
                    Err(_) => None,
                };
            }
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
        let compiled = CompiledWorkflow { doc, env };
        for (i, s) in compiled.doc.steps.iter().enumerate() {
            for channel in std::iter::once(s.channel).chain(s.fallback) {
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
    pub fn get(&self, tenant: &str, name: &str) -> Option<Arc<CompiledWorkflow>> {
        if let Ok(t) = self.tenants.read() {
            if let Some(w) = t.get(&(tenant.to_string(), name.to_string())) {
                return Some(w.clone());
            }
        }
        self.global.get(name).cloned()
    }

    /// Installs a tenant's stored document (already validated by `compile`).
    pub fn install(&self, tenant: &str, compiled: CompiledWorkflow) -> Arc<CompiledWorkflow> {
        let w = Arc::new(compiled);
        if let Ok(mut t) = self.tenants.write() {
            t.insert((tenant.to_string(), w.doc.name.clone()), w.clone());
        }
        w
    }

    /// Every workflow a tenant sees, by name.
    pub fn names(&self, tenant: &str) -> Vec<String> {
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
