//! Printable sheets of member cards, for villages that hand out paper 积分银行卡.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::members::card::{card_number, format_card_number};
use crate::domain::members::card_sheet::page_count;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::members::card_token;
use crate::http::{blocking, AppState};
use crate::service::members::cards;
use crate::sheet::{render_page, PrintedCard};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetQuery {
    /// The page to print, from 1 (default 1). `X-Total-Pages` says how many there are.
    #[param(minimum = 1)]
    pub page: Option<u64>,
}

/// Print member cards
///
/// One A4 page (SVG, 210 × 297 mm, `viewBox` in millimetres) of 积分银行卡 for the **active**
/// members whose home unit is this unit or below it, in card-number order: eight bank-card-sized
/// cards (2 columns × 4 rows) with thin cut lines, each showing the bank, the member's name and
/// home unit, the card number in groups of four, and the card's QR code — the same signed token as
/// `GET /members/{member_id}/card`, so re-issuing a card makes its printed QR code answer
/// `card_revoked`. Print at 100 % (no "fit to page") to keep the cards bank-card size.
///
/// The `X-Total-Pages` header says how many pages the unit's members fill. A unit without active
/// members has one page without cards; a page past the last answers `404 not_found`. Needs a role
/// that reads members in the unit (any role granted on it or above it).
#[utoipa::path(
    tag = "members",
    params(("org_id" = i64, Path, description = "The unit whose members' cards to print (with every unit below it)"), SheetQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One A4 page of cards", content_type = "image/svg+xml", body = String,
            headers(("X-Total-Pages" = u64, description = "How many pages the unit's active members fill (at least 1)")),
            example = json!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\">…</svg>")),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit is outside your scope"),
        (status = 404, description = "`not_found`: no such unit, or no such page (past `X-Total-Pages`)"),
        (status = 422, description = "`validation_failed`: page is not a number from 1"),
    )
)]
#[get("/orgs/{org_id}/member-cards.svg")]
pub async fn member_card_sheet(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<SheetQuery>,
) -> ServiceResult<HttpResponse> {
    let org_id = path.into_inner();
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ServiceError::validation(
            "page",
            "pages are numbered from 1",
        ));
    }
    let store = state.store.clone();
    let sheet = blocking(move || cards::card_sheet_page(&store, &staff, org_id, page)).await?;
    let (title, total) = (sheet.unit_name, sheet.total);
    let cards: Vec<PrintedCard> = sheet
        .cards
        .into_iter()
        .map(|card| PrintedCard {
            bank_name: card.bank_name,
            unit_name: card.unit_name,
            card_number: format_card_number(&card_number(card.member_id)),
            token: card_token(&state, card.member_id, card.card_version),
            member_name: card.member_name,
        })
        .collect();
    let pages = page_count(total.unsigned_abs());
    let svg = web::block(move || render_page(&title, page, pages, &cards))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("rendering failed: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("X-Total-Pages", pages.to_string()))
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"member-cards-{org_id}-{page}.svg\""),
        ))
        .body(svg))
}
