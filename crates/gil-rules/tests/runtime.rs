//! The rule runtime on hand-built worlds: sandbox, ctx, effects, ordering, provenance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::collections::BTreeMap;
use std::sync::Arc;

use gil_model::FlowKind;
use gil_rules::*;

fn source(name: &str, text: &str) -> RuleSource {
    RuleSource {
        display: format!("rules/{name}.lua"),
        path: format!("rules/{name}.lua").into(),
        text: text.to_string(),
        ..RuleSource::default()
    }
}

fn known() -> KnownNames {
    KnownNames {
        params: ["voucher.coverage".to_string(), "later".to_string()].into(),
        actor_kinds: ["startup", "government", "agency"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        asset_kinds: ["gpu_cluster"].iter().map(|s| s.to_string()).collect(),
        actors: ["gov", "nipa", "s1", "s2"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        assets: ["cluster"].iter().map(|s| s.to_string()).collect(),
        projects: ["p"].iter().map(|s| s.to_string()).collect(),
    }
}

fn actor(id: &str, kind: &str, demand: f64) -> ActorState {
    ActorState {
        id: id.into(),
        name: id.into(),
        kind: kind.into(),
        count: 10.0,
        region: None,
        tags: vec![],
        attrs: BTreeMap::from([("demand".to_string(), AttrVal::Num(demand))]),
    }
}

fn world() -> WorldState {
    let mut w = WorldState::default();
    w.year = 2026;
    w.currency = "KRW".into();
    w.params = BTreeMap::from([("voucher.coverage".to_string(), 0.5)]).into();
    w.actors = vec![
        actor("gov", "government", 0.0),
        actor("nipa", "agency", 0.0),
        actor("s1", "startup", 100.0),
        actor("s2", "startup", 300.0),
    ]
    .into_iter()
    .map(Arc::new)
    .collect();
    let names = w.names.clone();
    w.flows = vec![FlowState {
        id: names.intern("budget"),
        from: names.intern("gov"),
        to: names.intern("nipa"),
        kind: FlowKind::Funding,
        via: Some(names.intern("grant")),
        amount: 1000.0,
        project: None,
        tags: names.no_tags(),
        note: None,
        origin: Origin::scenario(0),
    }];
    w.projects = vec![ProjectState {
        id: "p".into(),
        title: None,
        what_owner: "gov".into(),
        what_goal: None,
        how: vec![("nipa".into(), None)],
        why: Some("w".into()),
        participants: vec![],
    }]
    .into();
    w.reindex();
    w
}

/// Loads the rules; on failure, the first problem (each test's rules have one).
fn load(rules: &[(&str, &str)]) -> Result<RuleRuntime, RuleError> {
    let sources: Vec<_> = rules.iter().map(|(n, t)| source(n, t)).collect();
    RuleRuntime::load(&sources, known(), SandboxConfig::default()).map_err(|errors| {
        errors
            .into_iter()
            .next()
            .expect("a failed load reports a problem")
    })
}

fn run_one(text: &str) -> Result<Vec<Effect>, RuleError> {
    run_one_named(text).map(|(effects, _)| effects)
}

/// [`run_one`], with the run's names the effects' symbols index.
fn run_one_named(text: &str) -> Result<(Vec<Effect>, gil_rules::Names), RuleError> {
    let rt = load(&[("r", text)])?;
    let w = world();
    let names = w.names.clone();
    rt.set_world(w).unwrap();
    Ok((rt.run(0)?, names))
}

#[test]
fn voucher_rule_emits_flows_with_provenance() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "voucher", params = { "voucher.coverage" },
  select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    local grant = actor.attrs.demand * ctx.param("voucher.coverage")
    ctx.flow { from = "nipa", to = actor.id, kind = "funding", via = "voucher", amount = grant }
    ctx.metric("voucher.total", grant)
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(effects.len(), 4);
    let EffectKind::Flow(f) = &effects[0].kind else {
        panic!()
    };
    assert_eq!((names.name(f.to), f.amount), ("s1", 50.0));
    assert_eq!(
        effects[0].provenance,
        Provenance::new("voucher".into(), "rules/r.lua".into(), 7, 2026)
    );
    assert_eq!(
        effects[3].kind,
        EffectKind::Metric {
            name: "voucher.total".into(),
            value: 150.0
        }
    );
    assert_eq!(effects[3].provenance.line, 8);
}

#[test]
fn rules_are_ordered_by_after_then_id() {
    let noop = |id: &str, after: &str| {
        format!("return {{ id = '{id}', after = {{ {after} }}, on_step = function() end }}")
    };
    let rt = load(&[
        ("a", &noop("zeta", "")),
        ("b", &noop("alpha", "'zeta'")),
        ("c", &noop("beta", "")),
    ])
    .unwrap();
    let ids: Vec<&str> = rt
        .order()
        .iter()
        .map(|&i| rt.rules()[i].id.as_str())
        .collect();
    assert_eq!(ids, ["beta", "zeta", "alpha"]);
}

#[test]
fn hooks_run_in_one_order_and_run_with_only_decides_where_selections_run() {
    let text = r#"
return {
  id = "all",
  on_project = function(p, ctx) ctx.metric("project", 1) end,
  on_flows = function(cols, ctx) ctx.metric("flows", cols.n) end,
  on_flow = function(f, ctx) ctx.metric("flow", 1) end,
  on_asset = function(a, ctx) ctx.metric("asset", 1) end,
  on_actors = function(cols, ctx) ctx.metric("actors", cols.n) end,
  on_actor = function(a, ctx) ctx.metric("actor:" .. a.id, math.random()) end,
  on_step = function(w, ctx) ctx.metric("step", 1) end,
}
"#;
    let rt = load(&[("all", text)]).unwrap();
    let mut w = world();
    w.assets = vec![Arc::new(AssetState {
        id: "cluster".into(),
        name: "cluster".into(),
        kind: "gpu_cluster".into(),
        owner: None,
        region: None,
        capacity: BTreeMap::new(),
        online: None,
        tags: vec![],
        attrs: BTreeMap::new(),
    })];
    w.reindex();
    rt.set_world(w).unwrap();
    let serial = rt.run(0).unwrap();
    let names: Vec<String> = serial
        .iter()
        .map(|e| match &e.kind {
            EffectKind::Metric { name, .. } => name.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "step",
            "actor:gov",
            "actor:nipa",
            "actor:s1",
            "actor:s2",
            "actors",
            "asset",
            "flow",
            "flows",
            "project"
        ]
    );

    // The parallel path's shape: each selection cut in two and run part by part, the
    // parts joined in order. Same effects, random numbers included.
    let mut handed = Vec::new();
    let split = rt
        .run_with(0, |hook, selected| {
            handed.push((hook, selected.len()));
            let (first, second) = selected.split_at(selected.len() / 2);
            let mut effects = rt.run_entity_hook(0, hook, first)?;
            effects.extend(rt.run_entity_hook(0, hook, second)?);
            Ok(effects)
        })
        .unwrap();
    assert_eq!(split, serial);
    assert_eq!(
        handed,
        [(Hook::Actor, 4), (Hook::Asset, 1), (Hook::Flow, 1)]
    );
}

#[test]
fn an_after_cycle_prints_its_path() {
    let noop = |id: &str, after: &str| {
        format!(
            "return {{\n  id = '{id}',\n  after = {{ '{after}' }},\n  on_step = function() end }}"
        )
    };
    let err = load(&[
        ("a", &noop("a", "c")),
        ("b", &noop("b", "a")),
        ("c", &noop("c", "b")),
    ])
    .unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Cycle);
    assert_eq!(
        err.to_string().lines().next().unwrap(),
        "rules/a.lua:3: the rules' `after` order has a cycle: a → b → c → a (rule `a`)"
    );
}

#[test]
fn entities_are_read_only() {
    let err =
        run_one("return { id = 'm', on_actor = function(actor, ctx)\n  actor.count = 0\nend }")
            .unwrap_err();
    assert_eq!((err.kind, err.line), (RuleErrorKind::Runtime, Some(2)));
    assert!(err.message.contains("readonly"), "{err}");
}

#[test]
fn effects_are_checked_at_the_boundary() {
    let cases = [
        (
            "ctx.flow { from = 'gov', to = 's1', kind = 'funding', amount = 0/0 }",
            "field `amount` must be a number, got NaN",
        ),
        (
            "ctx.flow { from = 'gov', to = 's1', kind = 'funding', amount = math.huge }",
            "field `amount` must be finite, got inf",
        ),
        (
            "ctx.flow { from = 'gov', to = 's1', kind = 'funding', amount = -1 }",
            "must not be negative",
        ),
        (
            "ctx.flow { from = 'gov', to = 'nobody', kind = 'funding', amount = 1 }",
            "unknown actor or asset `nobody`",
        ),
        (
            "ctx.flow { from = 'gov', to = 's1', kind = 'funding', amount = '1' }",
            "field `amount` must be a number, got string",
        ),
        (
            "ctx.flow { from = 'gov', to = 's1', kind = 'funding', amont = 1 }",
            "unknown field `amont` (did you mean `amount`?)",
        ),
        (
            "ctx.metric('x', 0/0)",
            "ctx.metric: the value must be a number, got NaN",
        ),
        (
            "ctx.metric_at('x', 2030)",
            "ctx.metric_at: 2030 comes after this step (2026)",
        ),
        (
            "ctx.metric_at('funding.in.s1')",
            "`funding.in.s1` is a built-in metric, computed after every rule of 2026 has run",
        ),
        (
            "ctx.role { project = 'p', actor = 's1', role = 'who' }",
            "field `role` must be what, how or why",
        ),
        (
            "ctx.adjust { flow = 'budget', scale = 2, add = 1 }",
            "give only one of `scale`, `add` or `set`",
        ),
        (
            "ctx.set { actor = 'ghost', attr = 'x', value = 1 }",
            "unknown actor `ghost`",
        ),
    ];
    for (call, expected) in cases {
        let err = run_one(&format!(
            "return {{ id = 'e', on_step = function(world, ctx)\n  {call}\nend }}"
        ))
        .unwrap_err();
        assert_eq!(err.kind, RuleErrorKind::Effect, "{call}: {err}");
        assert_eq!(err.line, Some(2), "{call}: {err}");
        assert_eq!(err.rule.as_deref(), Some("e"));
        assert!(
            err.message.contains(expected),
            "{call}: got `{}`",
            err.message
        );
    }
}

#[test]
fn parameter_reads_are_checked_against_the_rules_params() {
    let rule = |params: &str, body: &str| {
        format!("return {{ id = 'p', params = {{ {params} }}, on_step = function(world, ctx)\n  {body}\nend }}")
    };
    // A literal name is checked when the rule loads: unknown, then undeclared.
    let err = load(&[("r", &rule("", "ctx.param('voucher.coverag')"))]).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::UnknownParam, "{err}");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(
        err.message.contains("unknown parameter `voucher.coverag`"),
        "{err}"
    );
    assert_eq!(
        err.help.as_deref(),
        Some("did you mean `voucher.coverage`?")
    );
    let err = load(&[("r", &rule("", "ctx.param('voucher.coverage')"))]).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::UnknownParam, "{err}");
    assert!(
        err.message
            .contains("reads parameter `voucher.coverage` but does not declare it"),
        "{err}"
    );
    // A name built at run time is checked when it is read, on the Luau fast path too.
    let built = "local p = 'voucher.' .. 'coverage'\n  ctx.metric('x', ctx.param(p))";
    let err = run_one(&rule("", built)).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Effect, "{err}");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(
        err.message.contains("does not declare it in `params`"),
        "{err}"
    );
    let effects = run_one(&rule("'voucher.coverage'", built)).unwrap();
    assert_eq!(effects.len(), 1);
    // Declared and defined, but with no value this year.
    let err = run_one(&rule("'later'", "ctx.param('later')")).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Effect, "{err}");
    assert!(
        err.message
            .contains("parameter `later` has no value in 2026"),
        "{err}"
    );
}

#[test]
fn lookups_check_their_selector_like_every_selector() {
    let err =
        run_one("return { id = 'l', on_step = function(w, ctx)\n  ctx.actors { tag = 'x' }\nend }")
            .unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Effect, "{err}");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(
        err.message
            .starts_with("ctx.actors: unknown selector key `tag` (did you mean `tags`?)"),
        "{err}"
    );
    let err = run_one(
        "return { id = 'l', on_step = function(w, ctx)\n  ctx.assets { kind = 'castle' }\nend }",
    )
    .unwrap_err();
    assert!(err.message.starts_with("ctx.assets: "), "{err}");
    assert!(err.message.contains("castle"), "{err}");
}

#[test]
fn require_answers_only_from_the_modules_read_with_the_rules() {
    // The runtime never reads the disk: a path not found in the source text when the
    // rules were read (here, none were) is an error at the call, not a file opened.
    let err = load(&[(
        "r",
        "local name = './secret'\nlocal m = require(name)\nreturn { id = 'r' }",
    )])
    .unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Module, "{err}");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("not one of the requires"), "{err}");
}

#[test]
fn sandbox_removes_dangerous_globals() {
    for name in [
        "os",
        "io",
        "load",
        "loadstring",
        "getfenv",
        "setfenv",
        "debug",
        "dofile",
        "collectgarbage",
    ] {
        let text = format!("return {{ id = 'x', on_step = function(w, ctx)\n  ctx.metric('present', {name} == nil and 0 or 1)\nend }}");
        let effects = run_one(&text).unwrap();
        assert_eq!(
            effects[0].kind,
            EffectKind::Metric {
                name: "present".into(),
                value: 0.0
            },
            "{name} is reachable"
        );
    }
}

#[test]
fn one_rule_cannot_change_another_rules_globals_or_libraries() {
    let tamper = "helper = 1\nlocal ok = pcall(function() string.upper = nil end)\nreturn { id = 'a', on_step = function(w, ctx) ctx.metric('tamper_ok', ok and 1 or 0) end }";
    let victim = "return { id = 'b', on_step = function(w, ctx)\n  ctx.metric('helper', helper == nil and 0 or 1)\n  ctx.metric('upper', string.upper('x') == 'X' and 1 or 0)\nend }";
    let rt = load(&[("a", tamper), ("b", victim)]).unwrap();
    rt.set_world(world()).unwrap();
    let a = rt.run(0).unwrap();
    assert_eq!(
        a[0].kind,
        EffectKind::Metric {
            name: "tamper_ok".into(),
            value: 0.0
        }
    );
    let b = rt.run(1).unwrap();
    assert_eq!(
        b[0].kind,
        EffectKind::Metric {
            name: "helper".into(),
            value: 0.0
        }
    );
    assert_eq!(
        b[1].kind,
        EffectKind::Metric {
            name: "upper".into(),
            value: 1.0
        }
    );
}

#[test]
fn math_random_is_seeded_by_the_host() {
    let text =
        "return { id = 'r', on_actor = function(a, ctx) ctx.metric('r', math.random()) end }";
    let first = run_one(text).unwrap();
    let second = run_one(text).unwrap();
    assert_eq!(first, second);
    assert_ne!(
        first[0].kind, first[1].kind,
        "each call gets its own stream"
    );
}

#[test]
fn api_description_and_ctx_agree() {
    let rt = load(&[("n", "return { id = 'n', on_step = function() end }")]).unwrap();
    let mut described: Vec<String> = api::CTX_FUNCTIONS
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    described.sort();
    assert_eq!(rt.ctx_function_names(), described);
    for f in api::CTX_FUNCTIONS {
        assert!(api::luals_meta().contains(&format!("function Ctx.{}(", f.name())));
        assert!(api::luau_definitions().contains(&format!("    {}: (", f.name())));
    }
}

fn run_limited(text: &str) -> (RuleError, std::time::Duration) {
    // The deadline leaves the memory cases room to reach the memory limit first on a
    // loaded machine (at 300 ms one of them once tripped the deadline instead).
    let config = SandboxConfig {
        call_deadline: std::time::Duration::from_millis(1000),
        memory_limit: 64 * 1024 * 1024,
        ..SandboxConfig::default()
    };
    let started = std::time::Instant::now();
    let rt = RuleRuntime::load(&[source("h", text)], known(), config).unwrap();
    rt.set_world(world()).unwrap();
    let err = rt.run(0).expect_err(text);
    (err, started.elapsed())
}

#[test]
fn hostile_rules_are_contained_quickly() {
    let cases = [
        ("while true do end", RuleErrorKind::Deadline),
        ("local t = {} while true do t[#t + 1] = string.rep('x', 4096) .. #t end", RuleErrorKind::Memory),
        ("local s = string.rep('x', 1e9) ctx.metric('n', #s)", RuleErrorKind::Memory),
        ("local function f(n) return f(n + 1) + 1 end f(1)", RuleErrorKind::Runtime),
        ("local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end", RuleErrorKind::Deadline),
    ];
    for (body, kind) in cases {
        let (err, took) = run_limited(&format!(
            "return {{ id = 'h', on_step = function(w, ctx)\n  {body}\nend }}"
        ));
        assert_eq!(err.kind, kind, "{body}: {err}");
        assert_eq!(err.file, "rules/h.lua", "{body}: {err}");
        assert!(err.line.is_some(), "{body}: {err}");
        assert!(
            took < std::time::Duration::from_secs(5),
            "{body} took {took:?}"
        );
    }
}

#[test]
fn string_rep_still_repeats_within_the_limit() {
    let effects = run_one(
        r#"
return {
  id = "rep",
  on_step = function(_, ctx)
    ctx.metric("len", #string.rep("ab", 3))
    ctx.metric("empty", #string.rep("ab", 0))
  end,
}
"#,
    )
    .unwrap();
    let values: Vec<f64> = effects
        .iter()
        .filter_map(|e| match &e.kind {
            EffectKind::Metric { value, .. } => Some(*value),
            _ => None,
        })
        .collect();
    assert_eq!(values, [6.0, 0.0]);
}

/// Effects answered inside Luau (plain `ctx.flow`, `ctx.metric`) and by the host
/// (`ctx.finding`, a flow with tags) come back in call order, with their lines, across
/// more effects than the Luau buffer holds at once.
#[test]
fn buffered_and_host_effects_keep_call_order() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "mixed",
  select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    for i = 1, 700 do
      ctx.metric("m", i)
      ctx.flow { from = "nipa", to = actor.id, kind = "funding", amount = i, tags = { "t" } }
      ctx.flow { from = "nipa", to = actor.id, kind = "compute", via = "v" .. (i % 3), amount = i }
      if i % 100 == 0 then ctx.finding { level = "info", message = actor.id .. i } end
    end
  end,
}
"#,
    )
    .unwrap();
    let mut expected = Vec::new();
    for who in ["s1", "s2"] {
        for i in 1..=700 {
            let n = f64::from(i);
            expected.push((format!("metric m {n}"), 7));
            expected.push((format!("flow {who} funding - {n} [t]"), 8));
            expected.push((format!("flow {who} compute v{} {n} []", i % 3), 9));
            if i % 100 == 0 {
                expected.push((format!("finding {who}{i}"), 10));
            }
        }
    }
    let got: Vec<(String, u32)> = effects
        .iter()
        .map(|e| {
            let what = match &e.kind {
                EffectKind::Metric { name, value } => format!("metric {name} {value}"),
                EffectKind::Flow(f) => format!(
                    "flow {} {} {} {} [{}]",
                    names.name(f.to),
                    f.kind.as_str(),
                    f.via.as_deref().unwrap_or("-"),
                    f.amount,
                    f.tags.join(",")
                ),
                EffectKind::Finding { message, .. } => format!("finding {message}"),
                other => format!("{other:?}"),
            };
            (what, e.provenance.line)
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

/// The per-entity loop reseeds `math.random` for each entity: an entity draws the same
/// numbers whether it runs alone or after others.
#[test]
fn random_numbers_follow_the_entity_inside_the_loop() {
    let rt = load(&[(
        "r",
        r#"
return {
  id = "draw",
  select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    ctx.metric(actor.id, math.random())
    ctx.metric(actor.id, math.random())
  end,
}
"#,
    )])
    .unwrap();
    rt.set_world(world()).unwrap();
    let draws = |entities: &[usize]| -> Vec<(String, f64)> {
        rt.run_entity_hook(0, Hook::Actor, entities)
            .unwrap()
            .into_iter()
            .map(|e| match e.kind {
                EffectKind::Metric { name, value } => (name.to_string(), value),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let both = draws(&[2, 3]);
    let alone = draws(&[3]);
    assert_eq!(both.len(), 4);
    assert_eq!(&both[2..], &alone[..]);
    assert_ne!(both[0].1, both[2].1);
    assert_ne!(both[2].1, both[3].1);
}

/// Rule environments are Luau "safe environments" (built-ins resolved once at load):
/// a global the file itself defines under a built-in's name is still the file's own.
#[test]
fn a_global_a_rule_defines_under_a_builtin_name_is_its_own() {
    let effects = run_one(
        r#"
function tostring(_) return "mine" end
local n = 0
for _ in ipairs({ 1, 2, 3 }) do n = n + 1 end
return {
  id = "shadow",
  on_step = function(w, ctx) ctx.metric(tostring(1) .. "." .. math.floor(n + 0.5), 1) end,
}
"#,
    )
    .unwrap();
    let names: Vec<String> = effects
        .iter()
        .filter_map(|e| match &e.kind {
            EffectKind::Metric { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["mine.3"]);
}

/// A flow whose amount changes shows the new step's amount. Views are brought up to
/// date in place, so a rule that keeps values (not views) from the step before sees
/// them as they were, and a view kept past its call shows the entity as it is now.
#[test]
fn a_flow_view_shows_its_own_steps_amount() {
    let rt = load(&[(
        "r",
        r#"
local last, kept = {}, {}
return {
  id = "growth",
  on_step = function(w, ctx)
    for _, f in ipairs(ctx.flows { kind = "funding" }) do
      ctx.metric(f.id, f.amount)
      if last[f.id] then ctx.metric("growth", f.amount - last[f.id]) end
      if kept[f.id] then ctx.metric("kept", kept[f.id].amount) end
      last[f.id] = f.amount
      kept[f.id] = f
    end
  end,
}
"#,
    )])
    .unwrap();
    let metrics = |effects: Vec<Effect>| -> Vec<(String, f64)> {
        effects
            .into_iter()
            .filter_map(|e| match e.kind {
                EffectKind::Metric { name, value } => Some((name.to_string(), value)),
                _ => None,
            })
            .collect()
    };
    rt.set_world(world()).unwrap();
    assert_eq!(
        metrics(rt.run(0).unwrap()),
        [("budget".to_string(), 1000.0)]
    );
    let first = rt.take_world();
    let mut next = first.clone();
    next.year += 1;
    next.flows[0].amount = 1500.0;
    next.history = vec![Arc::new(first.flows.clone())];
    rt.set_world(next).unwrap();
    assert_eq!(
        metrics(rt.run(0).unwrap()),
        [
            ("budget".to_string(), 1500.0),
            ("growth".to_string(), 500.0),
            ("kept".to_string(), 1500.0)
        ]
    );
}

/// An id column carries its rows' symbols through `filter`, so column effects name the
/// rows kept, and an id of the wrong kind is refused as the text would be.
#[test]
fn filtered_id_columns_name_the_rows_they_keep() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    local big = cols.attr("demand"):gt(200)
    local ids = cols.id:filter(big)
    ctx.flow { from = "nipa", to = ids, kind = "funding", amount = cols.attr("demand"):filter(big) }
    ctx.set { actor = ids, attr = "big", value = 1 }
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(
        rows_made(&effects, &names),
        ["flow nipa->s2 300", "set Actor 3 big Num(1.0)"],
        "s2 is the fourth actor"
    );

    let err = run_one(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    ctx.set { asset = cols.id, attr = "big", value = 1 }
  end,
}
"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("ctx.set: field `asset`: unknown asset `s1`"),
        "{err}"
    );
}

/// Each effect, and each row of a columnar effect, as one line.
fn rows_made(effects: &[Effect], names: &gil_rules::Names) -> Vec<String> {
    let mut made = Vec::new();
    for e in effects {
        match &e.kind {
            EffectKind::Flow(f) => made.push(format!(
                "flow {}->{} {}",
                names.name(f.from),
                names.name(f.to),
                f.amount
            )),
            EffectKind::FlowRows(f) => made.extend((0..f.rows).map(|i| {
                format!(
                    "flow {}->{} {}",
                    names.name(*f.from.at(i)),
                    names.name(*f.to.at(i)),
                    f.amount.at(i)
                )
            })),
            EffectKind::Set {
                entity,
                index,
                attr,
                value,
            } => made.push(format!("set {entity:?} {index} {attr} {value:?}")),
            EffectKind::SetRows {
                entity,
                indexes,
                attr,
                value,
            } => {
                made.extend(indexes.iter().enumerate().map(|(row, index)| {
                    format!("set {entity:?} {index} {attr} {:?}", value.at(row))
                }))
            }
            EffectKind::AdjustRows { flows, ops } => made.extend(
                flows
                    .iter()
                    .zip(ops)
                    .map(|(i, op)| format!("adjust {i} {op:?}")),
            ),
            EffectKind::MetricRows { name, values } => {
                made.extend(values.iter().map(|v| format!("metric {name} {v}")))
            }
            EffectKind::Metric { name, value } => made.push(format!("metric {name} {value}")),
            other => made.push(format!("{other:?}")),
        }
    }
    made
}

/// A columnar call whose fields have the usual shapes is one effect holding its rows;
/// the rows are those the per-row form makes, in the same order.
#[test]
fn column_effects_are_one_record_holding_every_row() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    local demand = cols.attr("demand")
    ctx.flow { from = "nipa", to = cols.id, kind = "funding", via = "voucher", amount = demand * 0.5 }
    ctx.set { actor = cols.id, attr = "demand", value = demand * 2 }
    ctx.metric("grant", demand * 0.5)
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(effects.len(), 3, "one record per call: {effects:?}");
    assert!(matches!(effects[0].kind, EffectKind::FlowRows(_)));
    assert_eq!(
        rows_made(&effects, &names),
        [
            "flow nipa->s1 50",
            "flow nipa->s2 150",
            "set Actor 2 demand Num(200.0)",
            "set Actor 3 demand Num(600.0)",
            "metric grant 50",
            "metric grant 150",
        ]
    );
    // One provenance for the call, as the per-row form shared.
    assert_eq!(effects[0].provenance.line, 6);
}

/// A column with a row the world refuses, or a field of another shape, goes row by row:
/// the error is the first failing row's, in the per-row form's words, and a call the
/// fast form does not take (an explicit `id`) still makes its flows.
#[test]
fn column_effects_with_a_bad_row_fail_as_the_row_would() {
    let err = run_one(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    ctx.flow { from = "nipa", to = cols.id, kind = "funding", amount = cols.attr("demand") - 200 }
  end,
}
"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("ctx.flow: field `amount` must not be negative, got -100"),
        "{err}"
    );
    assert_eq!(err.line, Some(5), "{err}");

    let err = run_one(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    ctx.adjust { flow = cols.text("plan"), scale = 2 }
  end,
}
"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("ctx.adjust: field `flow`"),
        "{err}"
    );

    let (effects, names) = run_one_named(
        r#"
return {
  id = "cols", select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    ctx.flow { id = "grant." .. "x", from = "nipa", to = "gov", kind = "funding", amount = cols.attr("demand") }
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(
        rows_made(&effects, &names),
        ["flow nipa->gov 100", "flow nipa->gov 300"],
        "an explicit id makes one flow per row, as before"
    );
}

/// A column of ids compares, filters and reads its rows by name whether or not a name
/// is one the run knows.
#[test]
fn id_columns_compare_and_read_rows_by_name() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "cols",
  on_actors = function(cols, ctx)
    ctx.metric("s2", cols.id:eq("s2"):count())
    ctx.metric("nobody", cols.id:eq("nobody"):count())
    ctx.metric("some", cols.id:is_in({ "s1", "gov", "nobody" }):count())
    local startups = cols.id:filter(cols.kind:eq("startup"))
    ctx.metric("second is s2", startups:get(2) == "s2" and 1 or 0)
    ctx.metric("rows", #startups)
    ctx.metric("past the end", startups:get(3) == nil and 1 or 0)
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(
        rows_made(&effects, &names),
        [
            "metric s2 1",
            "metric nobody 0",
            "metric some 2",
            "metric second is s2 1",
            "metric rows 2",
            "metric past the end 1",
        ]
    );
}

/// `ctx.set` with plain values is recorded inside Luau: numbers, texts and booleans
/// arrive as the same effects the host makes, for the entity the loop was at, and an
/// id of the wrong kind still gets the host's error.
#[test]
fn plain_sets_are_recorded_as_the_host_records_them() {
    let (effects, names) = run_one_named(
        r#"
return {
  id = "sets", select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    ctx.set { actor = actor.id, attr = "demand", value = actor.attrs.demand * 2 }
    ctx.set { actor = actor.id, attr = "label", value = "x" .. actor.id }
    ctx.set { attr = "ok", value = true, actor = actor.id }
  end,
}
"#,
    )
    .unwrap();
    assert_eq!(
        rows_made(&effects, &names),
        [
            "set Actor 2 demand Num(200.0)",
            "set Actor 2 label Text(\"xs1\")",
            "set Actor 2 ok Bool(true)",
            "set Actor 3 demand Num(600.0)",
            "set Actor 3 label Text(\"xs2\")",
            "set Actor 3 ok Bool(true)",
        ]
    );
    assert_eq!(effects[3].entity, Some(gil_rules::HookEntity::Actor(3)));
    assert_eq!(effects[3].provenance.line, 5);

    // Anything else goes to the host, which words the error.
    for (call, error) in [
        (
            "ctx.set { asset = actor.id, attr = 'demand', value = 1 }",
            "ctx.set: field `asset`: unknown asset `s1`",
        ),
        (
            "ctx.set { actor = actor.id, attr = 'demand', value = 0 / 0 }",
            "ctx.set: field `value`",
        ),
    ] {
        let text = format!(
            "return {{ id = 'sets', select = {{ actors = {{ kind = 'startup' }} }},\n  on_actor = function(actor, ctx) {call} end }}"
        );
        let err = run_one(&text).unwrap_err();
        assert!(err.to_string().contains(error), "{err}");
    }
}

/// `ctx.adjust` of a flow the step began with, by id and one plain operand, is recorded
/// inside Luau as the host records it; anything else still gets the host's error.
#[test]
fn plain_adjustments_are_recorded_as_the_host_records_them() {
    let effects = run_one(
        r#"
return {
  id = "adj",
  on_flow = function(flow, ctx)
    ctx.adjust { flow = flow.id, scale = 0.5 }
    ctx.adjust { add = -1, flow = flow.id }
    ctx.adjust { flow = "budget", set = 3 }
  end,
}
"#,
    )
    .unwrap();
    let made: Vec<String> = effects.iter().map(|e| format!("{:?}", e.kind)).collect();
    assert_eq!(
        made,
        [
            "Adjust { target: Flow { index: 0 }, op: Scale(0.5) }",
            "Adjust { target: Flow { index: 0 }, op: Add(-1.0) }",
            "Adjust { target: Flow { index: 0 }, op: Set(3.0) }",
        ]
    );
    assert_eq!(effects[0].entity, Some(gil_rules::HookEntity::Flow(0)));
    assert_eq!(effects[1].provenance.line, 6);
    for (call, error) in [
        (
            "ctx.adjust { flow = 'nope', scale = 1 }",
            "ctx.adjust: field `flow`: unknown flow `nope` in this step",
        ),
        (
            "ctx.adjust { flow = flow.id, scale = -1 }",
            "ctx.adjust: field `scale` must not be negative, got -1",
        ),
        (
            "ctx.adjust { flow = flow.id, scale = 1, add = 1 }",
            "ctx.adjust: give only one of `scale`, `add` or `set`",
        ),
        (
            "ctx.adjust { flow = flow.id, scale = 0 / 0 }",
            "ctx.adjust: field `scale`",
        ),
    ] {
        let text = format!("return {{ id = 'adj', on_flow = function(flow, ctx) {call} end }}");
        let err = run_one(&text).unwrap_err();
        assert!(err.to_string().contains(error), "{err}");
    }
}
