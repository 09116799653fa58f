//! Members, their card numbers and card QR codes, read back with a real QR decoder.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

/// Decodes a PNG the way a scanner would.
pub fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the image");
    let (_, content) = grids[0].decode().expect("the code decodes");
    content
}

async fn village_org(app: &TestApp, village: &Village) -> i64 {
    app.get(&format!("/api/v1/banks/{}", village.bank))
        .await
        .ok(200)["org_id"]
        .as_i64()
        .unwrap()
}

on_both_backends!(
    a_registered_member_gets_wallets_a_card_number_and_masked_pii,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org_id = village_org(&app, &village).await;
        let member = app
        .post(
            "/api/v1/members",
            json!({"org_id": org_id, "name": "王秀英", "phone": "13812341234", "id_card": "11010519491231002x",
                   "household": "3 组 12 号", "tags": ["党员", "志愿者"]}),
        )
        .await;
        let member = member.ok(201).clone();
        assert_eq!(member["phone"], "138****1234");
        assert_eq!(member["id_card"], "110105********002X");
        assert_eq!(member["tags"], json!(["党员", "志愿者"]));
        let card_number = member["card_number"].as_str().unwrap();
        assert_eq!(card_number.len(), 16);
        let wallets = member["wallets"].as_array().unwrap();
        let assets: Vec<&str> = wallets
            .iter()
            .map(|w| w["asset"].as_str().unwrap())
            .collect();
        assert_eq!(assets, ["POINTS", "HOURS"]);
        assert!(wallets
            .iter()
            .all(|w| w["bank_id"] == village.bank && w["balance"] == "0.00"));

        // The wallet is an ordinary member account of the bank: awards land on it.
        let wallet = wallets[0]["id"].as_i64().unwrap();
        app.award(&village, wallet, "7").await.ok(201);
        let fetched = app.get(&format!("/api/v1/members/{}", member["id"])).await;
        assert_eq!(fetched.ok(200)["wallets"][0]["balance"], "7.00");

        let listed = app.get("/api/v1/members").await;
        let listed = listed.ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["phone"], "138****1234");
        assert!(
            !listed
                .to_vec()
                .iter()
                .any(|m| m.to_string().contains("13812341234")),
            "no full phone anywhere"
        );

        let again = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "王秀英", "phone": "13812341234"}),
            )
            .await;
        again.problem(409, "already_exists");
        let same_id = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "另一人", "id_card": "11010519491231002X"}),
            )
            .await;
        same_id.problem(409, "already_exists");
        let bad_id = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "x", "id_card": "110105194912310021"}),
            )
            .await;
        assert_eq!(bad_id.problem(422, "validation_failed")["field"], "id_card");
        let bad_phone = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "x", "phone": "23812341234"}),
            )
            .await;
        assert_eq!(
            bad_phone.problem(422, "validation_failed")["field"],
            "phone"
        );
        let no_bank = app
            .post(
                "/api/v1/orgs",
                json!({"code": "nobank", "name": "无银行村", "kind": "village"}),
            )
            .await;
        let no_bank_org = no_bank.ok(201)["id"].clone();
        let orphan = app
            .post(
                "/api/v1/members",
                json!({"org_id": no_bank_org, "name": "x"}),
            )
            .await;
        assert_eq!(orphan.problem(422, "validation_failed")["field"], "org_id");
    }
);

on_both_backends!(
    a_scanned_card_qr_finds_the_member_until_the_card_is_reissued,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org_id = village_org(&app, &village).await;
        let member = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "李建国"}),
            )
            .await
            .ok(201)
            .clone();
        let id = member["id"].as_i64().unwrap();

        let png = app
            .client
            .get(app.url(&format!("/api/v1/members/{id}/card?size=256")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(png.headers()["content-type"], "image/png");
        let scanned = decode_qr(&png.bytes().await.unwrap());
        assert!(
            scanned.starts_with(&format!("c.{id}.")) && scanned.len() < 40,
            "{scanned}"
        );
        let payload = app.get(&format!("/api/v1/members/{id}/card/payload")).await;
        assert_eq!(payload.ok(200)["token"], scanned.as_str());

        let found = app
            .post("/api/v1/members/lookup", json!({"card": scanned}))
            .await;
        assert_eq!(found.ok(200)["id"], id);
        let number = member["card_number"].as_str().unwrap();
        let typed = format!(
            "{} {} {} {}",
            &number[..4],
            &number[4..8],
            &number[8..12],
            &number[12..]
        );
        assert_eq!(
            app.post("/api/v1/members/lookup", json!({"card": typed}))
                .await
                .ok(200)["id"],
            id
        );
        let mut typo = number.to_string().into_bytes();
        typo[10] = if typo[10] == b'9' { b'0' } else { typo[10] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        app.post("/api/v1/members/lookup", json!({"card": typo}))
            .await
            .problem(422, "card_invalid");
        let forged = scanned.replacen(&format!("c.{id}."), &format!("c.{}.", id + 1), 1);
        app.post("/api/v1/members/lookup", json!({"card": forged}))
            .await
            .problem(422, "card_invalid");

        app.post(&format!("/api/v1/members/{id}/card/reissue"), json!({}))
            .await
            .ok(200);
        app.post("/api/v1/members/lookup", json!({"card": scanned}))
            .await
            .problem(410, "card_revoked");
        let new_png = app
            .client
            .get(app.url(&format!("/api/v1/members/{id}/card")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        let rescanned = decode_qr(&new_png.bytes().await.unwrap());
        assert_ne!(rescanned, scanned);
        assert_eq!(
            app.post("/api/v1/members/lookup", json!({"card": rescanned}))
                .await
                .ok(200)["id"],
            id
        );

        let svg = app
            .client
            .get(app.url(&format!("/api/v1/members/{id}/card?format=svg")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg.text().await.unwrap().contains("<svg"));
        app.get(&format!("/api/v1/members/{id}/card?size=10"))
            .await
            .problem(422, "validation_failed");
        let audit = app.get("/api/v1/audit?action=member.card_reissue").await;
        assert_eq!(audit.ok(200)["items"].as_array().unwrap().len(), 1);
    }
);

on_both_backends!(
    a_duplicate_member_merges_into_the_survivor_with_both_histories_kept,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org_id = village_org(&app, &village).await;
        let register = |name: &'static str, phone: &'static str| {
            app.post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": name, "phone": phone}),
            )
        };
        let duplicate = register("张伟", "13700001111").await.ok(201).clone();
        let survivor = register("张伟", "13700002222").await.ok(201).clone();
        let wallet = |m: &serde_json::Value| m["wallets"][0]["id"].as_i64().unwrap();
        app.award(&village, wallet(&duplicate), "12.5")
            .await
            .ok(201);
        app.award(&village, wallet(&survivor), "3").await.ok(201);

        let merge_path = format!("/api/v1/members/{}/merge", duplicate["id"]);
        let merged = app
            .post(&merge_path, json!({"into_member_id": survivor["id"]}))
            .await;
        let merged = merged.ok(200).clone();
        assert_eq!(merged["merged"]["status"], "left");
        assert_eq!(merged["merged"]["merged_into"], survivor["id"]);
        assert_eq!(merged["into"]["wallets"][0]["balance"], "15.50");
        assert_eq!(app.balance(&village, wallet(&duplicate)).await, "0.00");

        // Both statements show the move as a visible transfer line.
        let old = app
            .get(&format!(
                "/api/v1/banks/{}/accounts/{}/statement",
                village.bank,
                wallet(&duplicate)
            ))
            .await;
        assert_eq!(old.ok(200)["items"][0]["kind"], "transfer");
        assert_eq!(old.body["items"][1]["kind"], "award");
        let new = app
            .get(&format!(
                "/api/v1/banks/{}/accounts/{}/statement",
                village.bank,
                wallet(&survivor)
            ))
            .await;
        assert_eq!(new.ok(200)["items"][0]["amount"], "12.50");

        app.post(&merge_path, json!({"into_member_id": survivor["id"]}))
            .await
            .problem(422, "validation_failed");
        let into_self = format!("/api/v1/members/{}/merge", survivor["id"]);
        app.post(&into_self, json!({"into_member_id": survivor["id"]}))
            .await
            .problem(422, "validation_failed");
        let audit = app.get("/api/v1/audit?action=member.merge").await;
        assert_eq!(audit.ok(200)["items"].as_array().unwrap().len(), 1);
        app.assert_verified(&village).await;
    }
);
