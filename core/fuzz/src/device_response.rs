//! A device flow fed arbitrary responses through the public `Flow` API: the first section
//! answers the device authorization request, each later one the next token poll.
//! Instructions: `@margin: ms` (first section: the clock-drift margin), `@delay: ms`
//! (response latency), `@early: n` (poll early once before the deadline), `@late: ms`
//! (wake up late), `@transport: kind`, `@id: n` (answer with another id).

use crate::{CLIENT_ID, Driver, ISSUER, RawResponse, T0, sections, start};
use serde_json::json;
use termauth_core::{Action, Input};

/// The target.
pub fn run(data: &[u8]) {
    let raws: Vec<RawResponse> = sections(data).iter().map(|s| RawResponse::parse(s)).collect();
    let margin = raws[0].pseudo_u64("margin").unwrap_or(0) % 3_600_000;
    let spec = json!({
        "flow": "device",
        "server": {
            "issuer": ISSUER,
            "device_authorization_endpoint": format!("{ISSUER}/device_authorization"),
            "token_endpoint": format!("{ISSUER}/token"),
        },
        "client": { "client_id": CLIENT_ID },
        "scope": "openid offline_access",
        "clock_drift_margin_ms": margin,
    });
    let mut d = Driver::new(start(spec, 0), T0);
    // When the last response was handled, and the least wait it implies before the next poll.
    let mut last: Option<(u64, u64)> = None;
    for raw in &raws {
        let id = loop {
            match d.drain() {
                Action::SendRequest(r) => {
                    if let Some((at, min_gap)) = last {
                        assert!(
                            d.now >= at + min_gap,
                            "polled {} ms after a response; at least {min_gap} ms required",
                            d.now - at
                        );
                        assert!(r.body.contains("device_code="), "a poll without the device code");
                    }
                    break r.id;
                }
                Action::WaitUntil { at_ms } => {
                    if let Some(e) = raw.pseudo_u64("early") {
                        let t = d.now + e % (at_ms - d.now);
                        assert_eq!(d.poll_at(t), Action::WaitUntil { at_ms }, "an early poll moved the deadline");
                    }
                    d.now = at_ms.saturating_add(raw.pseudo_u64("late").unwrap_or(0));
                }
                Action::Done { .. } | Action::Failed { .. } => {
                    d.finish();
                    return;
                }
                other => panic!("device flow: unexpected {other:?}"),
            }
        };
        d.now = d.now.saturating_add(raw.pseudo_u64("delay").unwrap_or(0) % 86_400_000);
        let slow_down = matches!(raw.input(id), Input::HttpResponse(r) if r.fields().is_ok_and(|f| f.get("error").and_then(|e| e.as_str()) == Some("slow_down")));
        if d.answer(raw, id).is_ok() {
            // The interval is at least 1 s, slow_down adds 5 s, backoff never shortens it,
            // and the margin comes on top of every wait.
            let min_gap = if slow_down { 6_000 } else { 1_000 } + margin;
            last = Some((d.now, min_gap));
        }
    }
    d.finish();
}
