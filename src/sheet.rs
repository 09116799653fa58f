//! Drawing the printable A4 sheet of 积分银行卡 as SVG. Where things go is decided in
//! `domain::members::card_sheet`; this file only turns that into markup.

use std::fmt::Write;

use qrcode::EcLevel;

use crate::domain::members::card_sheet::{card_slots, qr_box, Rect, CARDS_PER_PAGE};
use crate::error::{ServiceError, ServiceResult};
use crate::qr;

/// What one card shows.
pub struct PrintedCard {
    /// The bank that keeps the member's points (the card's issuer).
    pub bank_name: String,
    /// The member's home unit (village, grid or building).
    pub unit_name: String,
    pub member_name: String,
    /// Grouped in fours: `8866 0000 0000 4271`.
    pub card_number: String,
    /// The signed card token the QR code carries.
    pub token: String,
}

const FONT: &str =
    "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif";
const MONO: &str = "'DejaVu Sans Mono','Menlo','Consolas',monospace";
const TEXT_LEFT_MM: f64 = 5.0;

/// One A4 page: `title` and the page number at the top, up to eight cards with thin cut lines.
pub fn render_page(
    title: &str,
    page: u64,
    pages: u64,
    cards: &[PrintedCard],
) -> ServiceResult<String> {
    if cards.len() > CARDS_PER_PAGE {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "{} cards do not fit one page",
            cards.len()
        )));
    }
    let slots = card_slots();
    let mut svg = String::with_capacity(64 * 1024);
    svg.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">"#,
        "\n",
        r##"<rect width="210" height="297" fill="#fff"/>"##,
        "\n"
    ));
    let heading = format!("{title} · 积分银行卡 · 第 {page}/{pages} 页 · 沿细线裁剪");
    text(
        &mut svg,
        slots[0].x,
        slots[0].y - 6.0,
        3.5,
        "#555",
        FONT,
        "",
        &heading,
        170.0,
    );
    for (card, slot) in cards.iter().zip(slots.iter()) {
        draw_card(&mut svg, card, slot)?;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

fn draw_card(svg: &mut String, card: &PrintedCard, slot: &Rect) -> ServiceResult<()> {
    let qr = qr_box(slot);
    let _ = writeln!(
        svg,
        r##"<g class="card"><rect class="cut" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" rx="3.18" fill="#fff" stroke="#999" stroke-width="0.2"/>"##,
        slot.x, slot.y, slot.width, slot.height
    );
    let left = slot.x + TEXT_LEFT_MM;
    let room = qr.x - left - 2.0;
    let bold = r#" font-weight="bold""#;
    text(
        svg,
        left,
        slot.y + 9.0,
        4.2,
        "#b3261e",
        FONT,
        bold,
        &card.bank_name,
        room,
    );
    text(
        svg,
        left,
        slot.y + 14.5,
        3.0,
        "#555",
        FONT,
        "",
        "积分银行卡",
        room,
    );
    text(
        svg,
        left,
        slot.y + 27.0,
        6.0,
        "#111",
        FONT,
        bold,
        &card.member_name,
        room,
    );
    text(
        svg,
        left,
        slot.y + 33.5,
        3.2,
        "#555",
        FONT,
        "",
        &card.unit_name,
        room,
    );
    let number_room = slot.width - 2.0 * TEXT_LEFT_MM;
    let number_at = slot.bottom() - 7.0;
    text(
        svg,
        left,
        number_at,
        4.6,
        "#111",
        MONO,
        "",
        &card.card_number,
        number_room,
    );
    let path = qr::svg_path(&card.token, EcLevel::M, qr.x, qr.y, qr.width)?;
    let _ = writeln!(svg, r##"<path class="qr" fill="#000" d="{path}"/></g>"##);
    Ok(())
}

/// What a printed activity poster shows.
pub struct Poster<'a> {
    pub title: &'a str,
    /// e.g. `2026-11-28 08:00–10:00`, in local time.
    pub when: &'a str,
    pub address: &'a str,
    pub check_in_url: &'a str,
    pub check_out_url: &'a str,
}

/// One A4 page for a notice board: the activity's title, time and place, and its two poster QR
/// codes (签到 and 签退) large enough to scan from a step away.
pub fn render_poster(poster: &Poster<'_>) -> ServiceResult<String> {
    let mut svg = String::with_capacity(64 * 1024);
    svg.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">"#,
        "\n",
        r##"<rect width="210" height="297" fill="#fff"/>"##,
        "\n"
    ));
    text(
        &mut svg,
        15.0,
        35.0,
        11.0,
        "#111",
        FONT,
        r#" font-weight="bold""#,
        poster.title,
        180.0,
    );
    text(
        &mut svg,
        15.0,
        52.0,
        6.0,
        "#333",
        FONT,
        "",
        &format!("时间：{}", poster.when),
        180.0,
    );
    text(
        &mut svg,
        15.0,
        62.0,
        6.0,
        "#333",
        FONT,
        "",
        &format!("地点：{}", poster.address),
        180.0,
    );
    for (x, label, url) in [
        (12.0, "签到 Check in", poster.check_in_url),
        (108.0, "签退 Check out", poster.check_out_url),
    ] {
        let path = qr::svg_path(url, EcLevel::M, x, 90.0, 90.0)?;
        let _ = writeln!(svg, r##"<path class="qr" fill="#000" d="{path}"/>"##);
        text(
            &mut svg,
            x + 22.0,
            192.0,
            7.0,
            "#111",
            FONT,
            r#" font-weight="bold""#,
            label,
            60.0,
        );
    }
    text(
        &mut svg,
        15.0,
        215.0,
        5.0,
        "#555",
        FONT,
        "",
        "用微信扫一扫，在小程序中完成签到/签退。仅在活动时间内有效。",
        180.0,
    );
    text(&mut svg, 15.0, 224.0, 4.0, "#777", FONT, "", "Scan with WeChat during the activity. Printed copies stop working when the organiser replaces the poster.", 180.0);
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// One line of text; squeezed to `room` millimetres when it would run longer (a long name must
/// not run into the QR code).
#[allow(clippy::too_many_arguments)]
fn text(
    svg: &mut String,
    x: f64,
    y: f64,
    size: f64,
    fill: &str,
    font: &str,
    extra: &str,
    content: &str,
    room: f64,
) {
    let fit = if estimated_width(content, size) > room {
        format!(r#" textLength="{room:.2}" lengthAdjust="spacingAndGlyphs""#)
    } else {
        String::new()
    };
    let _ = writeln!(
        svg,
        r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" font-family="{font}" fill="{fill}"{extra}{fit}>{}</text>"#,
        escape(content)
    );
}

/// A generous guess of the printed width: CJK characters are one em wide, others about 0.6 em.
fn estimated_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.6 } else { 1.0 })
        .sum::<f64>()
        * size
}

/// Names and units are typed by people: `<`, `&` and quotes must stay text, never markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str) -> PrintedCard {
        PrintedCard {
            bank_name: "青山村积分银行".into(),
            unit_name: "青山村 3 组".into(),
            member_name: name.into(),
            card_number: "8866 0000 0000 4271".into(),
            token: "c.427.1.AAAAAAAAAAAAAAAA".into(),
        }
    }

    #[test]
    fn names_are_text_never_markup() {
        let page = render_page("青山村", 1, 1, &[card("<script>&\"'</script>")]).unwrap();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;&amp;&quot;&apos;&lt;/script&gt;"));
    }

    #[test]
    fn a_page_holds_eight_cards_at_most_and_long_names_are_squeezed() {
        let eight: Vec<PrintedCard> = (0..8).map(|_| card("王秀英")).collect();
        let page = render_page("青山村", 1, 2, &eight).unwrap();
        assert_eq!(page.matches(r#"class="qr""#).count(), 8);
        assert_eq!(page.matches("8866 0000 0000 4271").count(), 8);
        assert!(page.contains("第 1/2 页"));
        assert!(
            !page.contains("textLength"),
            "short names print as they are"
        );
        let nine: Vec<PrintedCard> = (0..9).map(|_| card("王秀英")).collect();
        assert!(render_page("青山村", 1, 2, &nine).is_err());
        let long = render_page("青山村", 1, 1, &[card(&"长".repeat(50))]).unwrap();
        assert!(long.contains("textLength"));
    }
}
