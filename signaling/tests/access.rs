//! Roles and access, through the HTTP API with `oneshot`: logins, sessions and CSRF, the
//! scheduling API, join links and every way a join can be refused — including what an
//! attacker would try (tampered tokens, another unit's or meeting's token, replay after
//! revocation, a scheduler trying to chair, an official calling the scheduling API).

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signaling::auth::{self, StaffRole};
use signaling::db::now_ms;
use signaling::http::{AppState, app};
use tower::ServiceExt;

const HOUR: i64 = 3_600_000;

struct Fixture {
    state: AppState,
    scheduler: String,
    admin: String,
    archivist: String,
}

async fn fixture(name: &str) -> Fixture {
    let hub = common::bare_hub(&format!("access-{name}")).await;
    let state = AppState::new(
        hub,
        std::env::temp_dir().join(format!("cau-access-{name}-{}", std::process::id())),
    );
    let _ = std::fs::create_dir_all(&state.data_dir);
    for (user, role) in [
        ("lan", StaffRole::Scheduler),
        ("quan", StaffRole::Admin),
        ("thu", StaffRole::Archivist),
    ] {
        state
            .hub
            .db()
            .call(move |c| {
                auth::create_user(c, user, user, "mật khẩu đủ dài", &[role], now_ms())
                    .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))
            })
            .await
            .unwrap();
    }
    let mut f = Fixture {
        state,
        scheduler: String::new(),
        admin: String::new(),
        archivist: String::new(),
    };
    f.scheduler = f.bearer("lan").await;
    f.admin = f.bearer("quan").await;
    f.archivist = f.bearer("thu").await;
    f
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Fixture {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = auth {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let response = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    async fn bearer(&self, user: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({"username": user, "password": "mật khẩu đủ dài", "bearer": true})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.body["token"].as_str().unwrap().to_string()
    }

    /// "All communes of Huyện Đại Từ", hosted and chaired by the province, starting now.
    fn form(&self, start: i64) -> Value {
        json!({
            "title": "Giao ban xã, thị trấn huyện Đại Từ",
            "agenda": "1. Tình hình tháng\n2. Kế hoạch",
            "start": start,
            "end": start + 2 * HOUR,
            "host_unit": "province:19",
            "chair_unit": "province:19",
            "chair_person": "Phó Chủ tịch UBND tỉnh",
            "scope": {"root": self.dai_tu(), "tiers": ["commune"]},
            "recorded": true,
        })
    }

    fn dai_tu(&self) -> String {
        self.state
            .hub
            .directory()
            .search("huyen dai tu", Some("district"), 1)[0]
            .id
            .clone()
    }

    async fn create(&self, form: Value) -> Value {
        let a = self
            .call(
                Method::POST,
                "/api/meetings",
                Some(&self.scheduler),
                Some(form),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body["meeting"].clone()
    }

    async fn links(&self, meeting: i64) -> Vec<Value> {
        let a = self
            .call(
                Method::GET,
                &format!("/api/meetings/{meeting}/links"),
                Some(&self.scheduler),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.body["links"].as_array().unwrap().clone()
    }

    async fn check(&self, meeting: i64, token: &str) -> Answer {
        self.call(
            Method::GET,
            &format!("/api/join?meeting={meeting}&token={token}"),
            None,
            None,
        )
        .await
    }
}

fn token_of(link: &Value) -> String {
    let url = link["url"].as_str().unwrap();
    url.split("token=").nth(1).unwrap().to_string()
}

fn active<'a>(links: &'a [Value], unit: &str, role: &str) -> &'a Value {
    links
        .iter()
        .find(|l| l["unit"]["id"] == unit && l["role"] == role && l["revoked_at"].is_null())
        .unwrap_or_else(|| panic!("no active {role} link for {unit}"))
}

#[tokio::test]
async fn a_scheduler_plans_a_meeting_for_all_communes_of_a_district() {
    let f = fixture("plan").await;
    let communes = f
        .state
        .hub
        .directory()
        .subtree(&f.dai_tu(), &["commune".into()])
        .unwrap()
        .len();
    assert!(communes > 20);

    // The form's preview counts the communes plus the host (the province).
    let preview = f
        .call(
            Method::POST,
            "/api/meetings/preview",
            Some(&f.scheduler),
            Some(f.form(now_ms())),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["invited_count"], communes + 1);

    let m = f.create(f.form(now_ms())).await;
    assert_eq!(m["state"], "planned");
    assert_eq!(m["invited_count"], communes + 1);
    let id = m["id"].as_i64().unwrap();

    // One official link per invited unit, and one chair link.
    let links = f.links(id).await;
    assert_eq!(links.len(), communes + 2);
    assert_eq!(links.iter().filter(|l| l["role"] == "chair").count(), 1);
    let link = &links[0];
    assert!(link["url"].as_str().unwrap().starts_with(&format!(
        "http://localhost/meeting.html?meeting={id}&token=v1."
    )));

    // The history records who created it; the CSV and the invitation are downloadable.
    let shown = f
        .call(
            Method::GET,
            &format!("/api/meetings/{id}"),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(shown.body["history"][0]["action"], "created");
    assert_eq!(shown.body["history"][0]["by"], "lan");
    assert_eq!(
        shown.body["invited"].as_array().unwrap().len(),
        communes + 1
    );
    let csv = f
        .call(
            Method::GET,
            &format!("/api/meetings/{id}/links.csv"),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.text
            .starts_with("\u{feff}unit_id,unit_name,tier,role,link")
    );
    assert_eq!(csv.text.lines().count(), communes + 3);
    let ics = f
        .call(
            Method::GET,
            &format!("/api/meetings/{id}/meeting.ics"),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert!(ics.text.contains("BEGIN:VEVENT"));
    assert_eq!(
        ics.headers[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );

    // The week's list has it.
    let list = f
        .call(Method::GET, "/api/meetings", Some(&f.scheduler), None)
        .await;
    assert_eq!(list.body["meetings"][0]["id"], id);
}

#[tokio::test]
async fn conflicts_are_shown_and_only_saved_when_acknowledged() {
    let f = fixture("conflicts").await;
    let start = now_ms() + 24 * HOUR;
    f.create(f.form(start)).await;
    // Same host, overlapping, same communes: refused with the list, nothing saved.
    let again = f
        .call(
            Method::POST,
            "/api/meetings",
            Some(&f.scheduler),
            Some(f.form(start + HOUR)),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["error"], "conflicts");
    let kinds: Vec<&str> = again.body["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"host_busy"));
    assert!(kinds.contains(&"unit_invited"));
    let list = f
        .call(
            Method::GET,
            &format!("/api/meetings?from={start}&to={}", start + 4 * HOUR),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(list.body["meetings"].as_array().unwrap().len(), 1);
    // A weekly meeting a week earlier collides on its second occurrence.
    let mut weekly = f.form(start - 7 * 24 * HOUR);
    weekly["weekly_until"] = json!(start + 30 * 24 * HOUR);
    let clash = f
        .call(
            Method::POST,
            "/api/meetings/preview",
            Some(&f.scheduler),
            Some(weekly.clone()),
        )
        .await;
    assert!(clash.body["conflicts_total"].as_u64().unwrap() > 0);
    // Acknowledged: saved, with the conflicts reported.
    let mut ack = f.form(start + HOUR);
    ack["acknowledge_conflicts"] = json!(true);
    let saved = f
        .call(Method::POST, "/api/meetings", Some(&f.scheduler), Some(ack))
        .await;
    assert_eq!(saved.status, StatusCode::CREATED);
    assert!(!saved.body["conflicts"].as_array().unwrap().is_empty());
    // After the date, no conflict.
    let later = f
        .call(
            Method::POST,
            "/api/meetings/preview",
            Some(&f.scheduler),
            Some(f.form(start + 5 * HOUR)),
        )
        .await;
    assert_eq!(later.body["conflicts_total"], 0);
}

#[tokio::test]
async fn only_staff_with_the_right_role_reach_the_scheduling_api() {
    let f = fixture("roles").await;
    let form = f.form(now_ms());
    // No login at all (an official with only a join link).
    let anon = f
        .call(Method::POST, "/api/meetings", None, Some(form.clone()))
        .await;
    assert_eq!(
        (anon.status, anon.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let anon = f.call(Method::GET, "/api/meetings", None, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    // A join token is not a login.
    let m = f.create(form.clone()).await;
    let links = f.links(m["id"].as_i64().unwrap()).await;
    let join_token = token_of(&links[0]);
    let with_join_token = f
        .call(Method::GET, "/api/meetings", Some(&join_token), None)
        .await;
    assert_eq!(with_join_token.status, StatusCode::UNAUTHORIZED);
    // An archivist is staff, but does not schedule.
    let archivist = f
        .call(
            Method::POST,
            "/api/meetings",
            Some(&f.archivist),
            Some(form.clone()),
        )
        .await;
    assert_eq!(
        (archivist.status, archivist.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // Accounts are the admin's: a scheduler may not list or create them.
    let users = f
        .call(Method::GET, "/api/users", Some(&f.scheduler), None)
        .await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    let new_user = json!({"username": "mallory", "display_name": "M", "password": "0123456789ab", "roles": ["admin"]});
    let made = f
        .call(
            Method::POST,
            "/api/users",
            Some(&f.scheduler),
            Some(new_user.clone()),
        )
        .await;
    assert_eq!(made.status, StatusCode::FORBIDDEN);
    let made = f
        .call(Method::POST, "/api/users", Some(&f.admin), Some(new_user))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    // The admin schedules too.
    let by_admin = f
        .call(
            Method::POST,
            "/api/meetings/preview",
            Some(&f.admin),
            Some(form),
        )
        .await;
    assert_eq!(by_admin.status, StatusCode::OK);
    // A made-up bearer token.
    let forged = f
        .call(Method::GET, "/api/me", Some("not-a-session"), None)
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_for_changes() {
    let f = fixture("csrf").await;
    let login = f
        .send(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"username": "lan", "password": "mật khẩu đủ dài"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let cookie = login.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = login.body["csrf_token"].as_str().unwrap().to_string();
    let with_cookie = |method: Method, uri: &str, csrf: Option<&str>, body: Value| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, pair.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.body(Body::from(body.to_string())).unwrap()
    };
    // Reads work with the cookie alone.
    let me = f
        .send(with_cookie(Method::GET, "/api/me", None, Value::Null))
        .await;
    assert_eq!(me.body["user"]["username"], "lan");
    assert_eq!(me.body["csrf_token"], csrf.as_str());
    // A change without the header (what a forged cross-site form would send) is refused…
    let forged = f
        .send(with_cookie(
            Method::POST,
            "/api/meetings",
            None,
            f.form(now_ms()),
        ))
        .await;
    assert_eq!(
        (forged.status, forged.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let wrong = f
        .send(with_cookie(
            Method::POST,
            "/api/meetings",
            Some("guess"),
            f.form(now_ms()),
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // …and accepted with it.
    let ok = f
        .send(with_cookie(
            Method::POST,
            "/api/meetings",
            Some(&csrf),
            f.form(now_ms()),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    // Logging out ends the session.
    let out = f
        .send(with_cookie(
            Method::POST,
            "/api/logout",
            Some(&csrf),
            Value::Null,
        ))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = f
        .send(with_cookie(Method::GET, "/api/me", None, Value::Null))
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn failed_logins_are_rate_limited() {
    let f = fixture("ratelimit").await;
    let attempt = |password: &str| json!({"username": "lan", "password": password, "bearer": true});
    for _ in 0..5 {
        let a = f
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(attempt("wrong password")),
            )
            .await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
        );
    }
    // Now even the right password waits for the window to pass.
    let locked = f
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(attempt("mật khẩu đủ dài")),
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    tokio::time::advance(std::time::Duration::from_secs(901)).await;
    let ok = f
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(attempt("mật khẩu đủ dài")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn join_tokens_are_checked_and_every_refusal_has_its_code() {
    let f = fixture("tokens").await;
    let m = f.create(f.form(now_ms())).await;
    let id = m["id"].as_i64().unwrap();
    let links = f.links(id).await;
    let commune = links
        .iter()
        .find(|l| l["unit"]["tier"] == "commune")
        .unwrap();
    let unit = commune["unit"]["id"].as_str().unwrap().to_string();
    let token = token_of(commune);

    // The right link: the unit and role it was issued for.
    let ok = f.check(id, &token).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["unit"]["id"], unit.as_str());
    assert_eq!(ok.body["role"], "official");
    assert_eq!(ok.body["meeting"]["title"], m["title"]);
    // Whether it is recorded, for the pre-join screen to say so.
    assert_eq!(ok.body["meeting"]["recorded"], m["recorded"]);
    assert!(ok.body["meeting"]["recorded"].is_boolean());

    // Tampered: the payload rewritten to another unit, or promoted to chair.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    for (field, value) in [
        ("u", json!("province:19")),
        ("r", json!("chair")),
        ("x", json!(4_000_000_000i64)),
    ] {
        let mut forged = claims.clone();
        forged[field] = value;
        let payload = URL_SAFE_NO_PAD.encode(forged.to_string());
        let a = f.check(id, &format!("v1.{payload}.{}", parts[2])).await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{field}"
        );
    }
    let a = f.check(id, "v1.garbage").await;
    assert_eq!(a.body["error"], "invalid_token");
    // A token signed by another hub's key.
    let foreign = signaling::tokens::TokenKey::random()
        .sign(&serde_json::from_value(claims.clone()).unwrap());
    assert_eq!(f.check(id, &foreign).await.body["error"], "invalid_token");

    // Another meeting's link, presented for this one.
    let mut other_form = f.form(now_ms());
    other_form["host_unit"] = json!("district:164");
    other_form["chair_unit"] = json!("district:164");
    other_form["scope"] = json!({"root": "district:164", "tiers": ["commune"]});
    let other = f.create(other_form).await;
    let other_links = f.links(other["id"].as_i64().unwrap()).await;
    let a = f.check(id, &token_of(&other_links[0])).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_meeting"))
    );

    // Re-issued: the old link is dead (replay after revocation), the new one works.
    let reissued = f
        .call(
            Method::POST,
            &format!("/api/meetings/{id}/links"),
            Some(&f.scheduler),
            Some(json!({"unit": unit, "role": "official"})),
        )
        .await;
    assert_eq!(reissued.status, StatusCode::CREATED, "{}", reissued.text);
    let a = f.check(id, &token).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("revoked_token"))
    );
    let fresh = token_of(&reissued.body);
    assert_eq!(f.check(id, &fresh).await.status, StatusCode::OK);
    // Revoked by hand.
    let link_id = reissued.body["id"].as_i64().unwrap();
    let r = f
        .call(
            Method::POST,
            &format!("/api/meetings/{id}/links/{link_id}/revoke"),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(r.body["revoked"], true);
    assert_eq!(f.check(id, &fresh).await.body["error"], "revoked_token");
    // A unit that is not invited gets no link.
    let stray = f
        .call(
            Method::POST,
            &format!("/api/meetings/{id}/links"),
            Some(&f.scheduler),
            Some(json!({"unit": "district:164", "role": "official"})),
        )
        .await;
    assert_eq!(stray.status, StatusCode::BAD_REQUEST);
    // The chair link says chair.
    let chair = active(&links, "province:19", "chair");
    assert_eq!(f.check(id, &token_of(chair)).await.body["role"], "chair");

    // Cancelled: every link stops, with the reason.
    let cancel = f
        .call(
            Method::POST,
            &format!("/api/meetings/{id}/cancel"),
            Some(&f.scheduler),
            Some(json!({"reason": "Trùng lịch"})),
        )
        .await;
    assert_eq!(cancel.body["meeting"]["state"], "cancelled");
    let a = f.check(id, &token_of(chair)).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("meeting_cancelled"))
    );
    let history = f
        .call(
            Method::GET,
            &format!("/api/meetings/{id}"),
            Some(&f.scheduler),
            None,
        )
        .await;
    let actions: Vec<&str> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "link_issued",
            "link_issued",
            "link_revoked",
            "cancelled"
        ]
    );
    // A cancelled meeting cannot be edited.
    let edit = f
        .call(
            Method::PUT,
            &format!("/api/meetings/{id}"),
            Some(&f.scheduler),
            Some(f.form(now_ms())),
        )
        .await;
    assert_eq!(edit.body["error"], "invalid_state");
    claims["m"] = json!(id);
}

#[tokio::test]
async fn meetings_open_half_an_hour_early_and_links_expire_after_the_end() {
    let f = fixture("times").await;
    let later = f.create(f.form(now_ms() + 3 * HOUR)).await;
    let links = f.links(later["id"].as_i64().unwrap()).await;
    let a = f
        .check(later["id"].as_i64().unwrap(), &token_of(&links[0]))
        .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("meeting_not_started"))
    );
    let soon = f.create(f.form(now_ms() + 20 * 60_000)).await;
    let links = f.links(soon["id"].as_i64().unwrap()).await;
    assert_eq!(
        f.check(soon["id"].as_i64().unwrap(), &token_of(&links[0]))
            .await
            .status,
        StatusCode::OK
    );
    // Ended seven hours ago: its links expired an hour ago.
    let mut past = f.form(now_ms() - 9 * HOUR);
    past["acknowledge_conflicts"] = json!(true);
    let past = f.create(past).await;
    let links = f.links(past["id"].as_i64().unwrap()).await;
    let a = f
        .check(past["id"].as_i64().unwrap(), &token_of(&links[0]))
        .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("expired_token"))
    );
}

#[tokio::test]
async fn a_staff_login_chairs_only_the_meeting_that_names_it() {
    let f = fixture("chair").await;
    let mut form = f.form(now_ms());
    form["chair_user"] = json!("quan");
    let m = f.create(form).await;
    let id = m["id"].as_i64().unwrap();
    // No token, no login.
    let a = f
        .call(Method::GET, &format!("/api/join?meeting={id}"), None, None)
        .await;
    assert_eq!(a.body["error"], "unauthenticated");
    // The scheduler who planned it may not chair it.
    let a = f
        .call(
            Method::GET,
            &format!("/api/join?meeting={id}"),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // The named chair may.
    let a = f
        .call(
            Method::GET,
            &format!("/api/join?meeting={id}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["role"], "chair");
    assert_eq!(a.body["unit"]["id"], "province:19");
    let a = f
        .call(Method::GET, "/api/join?meeting=999", Some(&f.admin), None)
        .await;
    assert_eq!(a.body["error"], "not_found");
}

#[tokio::test]
async fn a_new_directory_keeps_meetings_and_reports_units_that_are_gone() {
    let f = fixture("reload").await;
    let dai_tu = f.dai_tu();
    let m = f.create(f.form(now_ms() + 48 * HOUR)).await;
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/units/thai-nguyen-2025.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // Only an admin replaces the directory.
    let a = f
        .call(
            Method::POST,
            "/api/admin/directory",
            Some(&f.scheduler),
            Some(file.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let dry = f
        .call(
            Method::POST,
            "/api/admin/directory?dry_run=1",
            Some(&f.admin),
            Some(file.clone()),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.body["units"], 93);
    let missing = dry.body["missing"].as_array().unwrap();
    // The district is gone in 2025 (scope root), and so are most of its communes.
    assert!(
        missing
            .iter()
            .any(|x| x["role"] == "scope_root" && x["meeting_id"] == m["id"])
    );
    assert!(missing.iter().all(|x| x["unit_id"] != "province:19"));
    assert_eq!(
        f.state.hub.directory().len(),
        200,
        "a dry run changes nothing"
    );
    let done = f
        .call(
            Method::POST,
            "/api/admin/directory",
            Some(&f.admin),
            Some(file),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(f.state.hub.directory().len(), 93);
    assert!(
        f.state.data_dir.join("directory.json").exists(),
        "kept for the next start"
    );
    // The meeting is still there, its references intact.
    let shown = f
        .call(
            Method::GET,
            &format!("/api/meetings/{}", m["id"]),
            Some(&f.scheduler),
            None,
        )
        .await;
    assert_eq!(shown.body["meeting"]["scope"]["root"], dai_tu.as_str());
    assert!(
        shown.body["invited"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["missing"] == true)
    );
    // A broken file is refused and changes nothing.
    let bad = f
        .call(
            Method::POST,
            "/api/admin/directory",
            Some(&f.admin),
            Some(json!({"source": "x", "tiers": [], "units": []})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(f.state.hub.directory().len(), 93);
}

#[tokio::test]
async fn directory_api_gives_ancestors_children_and_subtrees_by_tier() {
    let f = fixture("dirapi").await;
    let dai_tu = f.dai_tu();
    let a = f
        .call(Method::GET, &format!("/api/units/{dai_tu}"), None, None)
        .await;
    assert_eq!(a.body["unit"]["name"], "Huyện Đại Từ");
    assert_eq!(a.body["ancestors"][0]["id"], "province:19");
    let children = a.body["children"].as_array().unwrap().len();
    let sub = f
        .call(
            Method::GET,
            &format!("/api/units/{dai_tu}/subtree?tier=commune"),
            None,
            None,
        )
        .await;
    assert_eq!(sub.body["units"].as_array().unwrap().len(), children);
    let sub = f
        .call(
            Method::GET,
            "/api/units/province:19/subtree?tier=district&tier=province",
            None,
            None,
        )
        .await;
    assert_eq!(sub.body["units"].as_array().unwrap().len(), 1 + 18 + 9);
    let bad = f
        .call(
            Method::GET,
            "/api/units/province:19/subtree?tier=hamlet",
            None,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let none = f
        .call(Method::GET, "/api/units/district:0", None, None)
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let search = f
        .call(
            Method::GET,
            "/api/units?q=dai%20tu&tier=district",
            None,
            None,
        )
        .await;
    assert_eq!(search.body["units"][0]["name"], "Huyện Đại Từ");
}

#[tokio::test]
async fn a_units_calendar_feed_needs_its_key() {
    let f = fixture("feed").await;
    f.create(f.form(now_ms() + HOUR)).await;
    let dai_tu = f.dai_tu();
    let commune = f
        .state
        .hub
        .directory()
        .subtree(&dai_tu, &["commune".into()])
        .unwrap()[0]
        .id
        .clone();
    let url = f
        .call(
            Method::GET,
            &format!("/api/units/{commune}/feed"),
            Some(&f.scheduler),
            None,
        )
        .await
        .body["url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = url.strip_prefix("http://localhost").unwrap();
    let feed = f.call(Method::GET, path, None, None).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(
        feed.text
            .contains("SUMMARY:Giao ban xã\\, thị trấn huyện Đại Từ")
    );
    assert!(
        feed.text
            .replace("\r\n ", "")
            .contains("meeting.html?meeting="),
        "the unit's own link is in it"
    );
    let forged = f
        .call(
            Method::GET,
            &format!("/api/calendar/{commune}.ics?key=AAAA"),
            None,
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let other = path.replace(&commune, "province:19");
    assert_eq!(
        f.call(Method::GET, &other, None, None).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn meetings_links_and_accounts_survive_a_restart() {
    let f = fixture("restart").await;
    let m = f.create(f.form(now_ms() + HOUR)).await;
    let id = m["id"].as_i64().unwrap();
    let dir = std::env::temp_dir().join(format!("cau-bare-access-restart-{}", std::process::id()));
    drop(f);
    let db = signaling::db::Db::open(&dir).unwrap();
    let (meeting, links, users) = db
        .call(move |c| {
            Ok((
                signaling::meetings::get(c, id)?,
                signaling::meetings::links(c, id)?,
                auth::list_users(c)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(meeting.unwrap().title, "Giao ban xã, thị trấn huyện Đại Từ");
    assert!(!links.is_empty());
    assert_eq!(users.len(), 3);
}
