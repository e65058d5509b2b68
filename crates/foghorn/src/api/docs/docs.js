// Renders /openapi.json as a browsable reference with a request form per
// operation. No framework and nothing fetched but this server's own URLs.
"use strict";
(function () {
  const METHODS = ["get", "put", "post", "delete", "patch"];
  let doc = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  function resolve(s) {
    let seen = 0;
    while (s && s.$ref && seen++ < 20) {
      const name = s.$ref.split("/").pop();
      s = (doc.components && doc.components.schemas || {})[name];
    }
    return s || {};
  }

  function typeName(s) {
    if (!s) return "any";
    if (s.$ref) {
      const name = s.$ref.split("/").pop();
      const r = resolve(s);
      return r.enum ? `${name}: ${r.enum.filter(v => v !== null).join(" | ")}` : name;
    }
    if (s.enum) return s.enum.filter(v => v !== null).map(v => JSON.stringify(v)).join(" | ");
    for (const k of ["oneOf", "anyOf"]) if (s[k]) return s[k].map(typeName).join(" | ");
    let t = Array.isArray(s.type) ? s.type.filter(x => x !== "null").join(" | ") : (s.type || "any");
    if (t === "array") t = typeName(s.items) + "[]";
    const bounds = [];
    if (s.minimum != null) bounds.push("≥ " + s.minimum);
    if (s.maximum != null) bounds.push("≤ " + s.maximum);
    if (s.format) bounds.push(s.format);
    return bounds.length ? `${t} (${bounds.join(", ")})` : t;
  }

  function schemaTree(s, depth) {
    const r = resolve(s);
    const ul = el("ul", { class: "schema" });
    const variants = r.oneOf || r.anyOf;
    if (variants && depth < 4) {
      for (const v of variants) ul.append(el("li", {}, el("span", { class: "type", text: "one of: " + typeName(v) }), schemaTree(v, depth + 1)));
      return ul;
    }
    if (r.type === "array" || (Array.isArray(r.type) && r.type.includes("array"))) {
      ul.append(el("li", {}, el("span", { class: "type", text: "items: " + typeName(r.items) }), depth < 4 ? schemaTree(r.items, depth + 1) : null));
      return ul;
    }
    const props = r.properties || {};
    const required = new Set(r.required || []);
    for (const [name, p] of Object.entries(props)) {
      const pr = resolve(p);
      const li = el("li", {}, el("code", { text: name }), required.has(name) ? el("span", { class: "req", text: " *" }) : null,
        " ", el("span", { class: "type", text: typeName(p) }));
      const d = p.description || pr.description;
      if (d) li.append(" ", el("span", { class: "desc", text: "— " + d }));
      if (depth < 3 && (pr.properties || pr.items || pr.oneOf)) li.append(schemaTree(p, depth + 1));
      ul.append(li);
    }
    return ul;
  }

  function example(s, depth) {
    const r = resolve(s);
    if (depth > 4) return null;
    if (r.example !== undefined) return r.example;
    if (r.enum) return r.enum[0];
    if (r.oneOf || r.anyOf) return example((r.oneOf || r.anyOf)[0], depth + 1);
    const t = Array.isArray(r.type) ? r.type.find(x => x !== "null") : r.type;
    if (t === "object" || r.properties) {
      const o = {};
      for (const n of r.required || []) o[n] = example((r.properties || {})[n], depth + 1);
      return o;
    }
    if (t === "array") return [];
    if (t === "integer" || t === "number") return r.minimum != null ? r.minimum : 0;
    if (t === "boolean") return false;
    if (t === "string") return "";
    return null;
  }

  function tryForm(path, method, op, out) {
    const form = el("form", { class: "try" });
    const params = op.parameters || [];
    const inputs = [];
    for (const p of params) {
      const s = resolve(p.schema);
      let input;
      if (s.enum) {
        input = el("select", {}, el("option", { value: "", text: "" }));
        for (const v of s.enum) if (v !== null) input.append(el("option", { value: v, text: v }));
      } else {
        input = el("input", { type: "text", placeholder: typeName(p.schema) });
      }
      inputs.push([p, input]);
      form.append(el("label", {}, el("span", {}, el("code", { text: p.name }), ` (${p.in})`, p.required ? el("span", { class: "req", text: " *" }) : null), input));
    }
    let body = null;
    const json = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (json) {
      body = el("textarea", { spellcheck: "false" });
      body.value = JSON.stringify(example(json.schema, 0), null, 2);
      form.append(el("label", {}, el("span", { text: "Body (JSON)" }), body));
    }
    form.append(el("button", { type: "submit", text: "Send" }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let url = path;
      const query = new URLSearchParams();
      for (const [p, input] of inputs) {
        if (input.value === "") continue;
        if (p.in === "path") url = url.replace(`{${p.name}}`, encodeURIComponent(input.value));
        else if (p.in === "query") query.append(p.name, input.value);
      }
      if ([...query].length) url += "?" + query;
      const headers = {};
      const key = document.getElementById("key").value.trim();
      if (key) headers["Authorization"] = "Bearer " + key;
      const init = { method: method.toUpperCase(), headers };
      if (body) { headers["Content-Type"] = "application/json"; init.body = body.value; }
      out.replaceChildren(el("p", { class: "muted", text: `${init.method} ${url} …` }));
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        out.replaceChildren(
          el("p", {}, el("span", { class: "status s" + String(res.status)[0], text: String(res.status) }), " ",
            el("span", { class: "muted", text: `${init.method} ${url} · ${res.headers.get("content-type") || "no content type"}` })),
          el("pre", { text: shown || "(empty body)" }));
      } catch (e) {
        out.replaceChildren(el("p", { class: "s5", text: String(e) }));
      }
    });
    return form;
  }

  function operation(path, method, op, id) {
    const details = el("details", { class: "op", id });
    const security = op.security || doc.security || [];
    const scopes = security.flatMap(req => Object.values(req).flat());
    const lock = security.length === 0 ? null : scopes.length ? "scope: " + scopes.join(" or ") : "API key";
    details.append(el("summary", {},
      el("span", { class: "method m-" + method, text: method }),
      el("span", { class: "path", text: path }),
      el("span", { class: "summary", text: op.summary || "" }),
      lock ? el("span", { class: "lock", text: lock }) : null));
    const body = el("div", { class: "body" });
    if (op.description) body.append(el("p", { text: op.description }));
    const params = op.parameters || [];
    if (params.length) {
      const t = el("table", {}, el("tr", {}, el("th", { text: "Parameter" }), el("th", { text: "In" }), el("th", { text: "Type" }), el("th", { text: "Description" })));
      for (const p of params) {
        t.append(el("tr", {},
          el("td", {}, el("code", { text: p.name }), p.required ? el("span", { class: "req", text: " *" }) : null),
          el("td", { text: p.in }), el("td", {}, el("span", { class: "type", text: typeName(p.schema) })),
          el("td", { class: "desc", text: p.description || resolve(p.schema).description || "" })));
      }
      body.append(el("h3", { text: "Parameters" }), t);
    }
    if (op.requestBody) {
      body.append(el("h3", { text: "Request body" }));
      for (const [ct, c] of Object.entries(op.requestBody.content || {})) {
        body.append(el("p", {}, el("code", { text: ct }), " ", el("span", { class: "type", text: typeName(c.schema) })));
        if (c.schema) body.append(schemaTree(c.schema, 0));
      }
    }
    body.append(el("h3", { text: "Responses" }));
    const rt = el("table", {});
    for (const [status, r] of Object.entries(op.responses || {})) {
      const types = Object.entries(r.content || {}).map(([ct, c]) => ct + (c.schema ? " " + typeName(c.schema) : "")).join(", ");
      rt.append(el("tr", {}, el("td", {}, el("span", { class: "status s" + status[0], text: status })),
        el("td", { class: "desc", text: r.description || "" }), el("td", {}, el("span", { class: "type", text: types }))));
    }
    body.append(rt);
    const out = el("div", { class: "result" });
    body.append(el("h3", { text: "Try it" }), tryForm(path, method, op, out), out);
    details.append(body);
    return details;
  }

  function render() {
    document.getElementById("title").textContent = (doc.info && doc.info.title || "API") + " API";
    document.getElementById("version").textContent = `v${doc.info && doc.info.version || ""} · OpenAPI ${doc.openapi}`;
    document.title = document.getElementById("title").textContent + " reference";
    const main = document.getElementById("main");
    const nav = document.getElementById("nav");
    main.replaceChildren();
    nav.replaceChildren();
    if (doc.info && doc.info.description) main.append(el("p", { class: "intro", text: doc.info.description }));
    const byTag = new Map();
    let n = 0;
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const tag = (item[m].tags || ["other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, m, item[m], "op-" + n++]);
      }
    }
    const order = (doc.tags || []).map(t => t.name);
    const rank = t => (order.indexOf(t) + 1) || order.length + 1;
    for (const [tag, ops] of [...byTag].sort((a, b) => rank(a[0]) - rank(b[0]))) {
      nav.append(el("h2", { text: tag }));
      main.append(el("h2", { text: tag }));
      for (const [path, m, op, id] of ops) {
        nav.append(el("a", { href: "#" + id }, el("span", { class: "method m-" + m, text: m }), path));
        main.append(operation(path, m, op, id));
      }
    }
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.open = true;
    }
  }

  const key = document.getElementById("key");
  key.value = sessionStorage.getItem("foghorn-key") || "";
  key.addEventListener("change", () => sessionStorage.setItem("foghorn-key", key.value.trim()));
  window.addEventListener("hashchange", () => {
    const target = document.getElementById(location.hash.slice(1));
    if (target) target.open = true;
  });

  fetch("/openapi.json")
    .then(r => { if (!r.ok) throw new Error("GET /openapi.json answered " + r.status); return r.json(); })
    .then(d => { doc = d; render(); })
    .catch(e => { document.getElementById("main").replaceChildren(el("p", { class: "s5", text: String(e) })); });
})();
