//! The printable A4 sheet of 积分银行卡: where the eight cards of a page sit, where each card's QR
//! code goes, and how many pages a unit's members fill. Millimetres throughout, origin at the top
//! left of the page. Drawing the sheet is `crate::sheet`'s job.

pub const PAGE_WIDTH_MM: f64 = 210.0;
pub const PAGE_HEIGHT_MM: f64 = 297.0;
/// ISO/IEC 7810 ID-1, the size of a bank card, so the cards fit ordinary card sleeves and wallets.
pub const CARD_WIDTH_MM: f64 = 85.6;
pub const CARD_HEIGHT_MM: f64 = 53.98;
pub const COLUMNS: usize = 2;
pub const ROWS: usize = 4;
pub const CARDS_PER_PAGE: usize = COLUMNS * ROWS;
/// Space between neighbouring cards: a slightly crooked cut along one card's line misses the next.
pub const GUTTER_MM: f64 = 6.0;
/// Side of the QR code's square on a card, quiet zone included. At version 3 (the longest card
/// token) a module is then about 0.86 mm, well above what phone cameras and counter scanners need.
pub const QR_SIDE_MM: f64 = 32.0;
/// Inset of the QR square from the card's top and right edges.
const QR_INSET_MM: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn contains(&self, inner: &Rect) -> bool {
        inner.x >= self.x
            && inner.y >= self.y
            && inner.right() <= self.right()
            && inner.bottom() <= self.bottom()
    }
}

/// The eight card positions of a page, row by row (left to right, then top to bottom), with the
/// block of cards centred on the page.
pub fn card_slots() -> [Rect; CARDS_PER_PAGE] {
    let block_width = COLUMNS as f64 * CARD_WIDTH_MM + (COLUMNS - 1) as f64 * GUTTER_MM;
    let block_height = ROWS as f64 * CARD_HEIGHT_MM + (ROWS - 1) as f64 * GUTTER_MM;
    let left = (PAGE_WIDTH_MM - block_width) / 2.0;
    let top = (PAGE_HEIGHT_MM - block_height) / 2.0;
    std::array::from_fn(|i| {
        let (row, column) = (i / COLUMNS, i % COLUMNS);
        Rect {
            x: left + column as f64 * (CARD_WIDTH_MM + GUTTER_MM),
            y: top + row as f64 * (CARD_HEIGHT_MM + GUTTER_MM),
            width: CARD_WIDTH_MM,
            height: CARD_HEIGHT_MM,
        }
    })
}

/// Where the QR code (with its quiet zone) goes on the card in `slot`: top right.
pub fn qr_box(slot: &Rect) -> Rect {
    Rect {
        x: slot.right() - QR_INSET_MM - QR_SIDE_MM,
        y: slot.y + QR_INSET_MM,
        width: QR_SIDE_MM,
        height: QR_SIDE_MM,
    }
}

/// How many pages the cards of `members` members fill. A unit without members still has one
/// (empty) page, so a print preview always has something to show.
pub fn page_count(members: u64) -> u64 {
    members.div_ceil(CARDS_PER_PAGE as u64).max(1)
}

/// The members on `page` (from 1) as (how many to skip, how many to print), in card-number
/// order; `None` for page 0 and pages past the last.
pub fn page_window(page: u64, members: u64) -> Option<(u64, u64)> {
    if page == 0 || page > page_count(members) {
        return None;
    }
    let skip = (page - 1) * CARDS_PER_PAGE as u64;
    Some((skip, (members - skip).min(CARDS_PER_PAGE as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::members::card::{card_number, format_card_number};

    #[test]
    fn eight_bank_card_sized_slots_fit_an_a4_page_without_touching() {
        let slots = card_slots();
        assert_eq!(slots.len(), 8);
        let page = Rect {
            x: 0.0,
            y: 0.0,
            width: PAGE_WIDTH_MM,
            height: PAGE_HEIGHT_MM,
        };
        for slot in &slots {
            // Office printers cannot print the outer ~5 mm of a sheet.
            let printable = Rect {
                x: 10.0,
                y: 10.0,
                width: PAGE_WIDTH_MM - 20.0,
                height: PAGE_HEIGHT_MM - 20.0,
            };
            assert!(page.contains(slot) && printable.contains(slot), "{slot:?}");
            assert!((slot.width / slot.height - 85.6 / 53.98).abs() < 1e-9);
        }
        for (i, a) in slots.iter().enumerate() {
            for b in &slots[i + 1..] {
                let apart_x = b.x >= a.right() + GUTTER_MM - 1e-9 || a.x >= b.right();
                let apart_y = b.y >= a.bottom() + GUTTER_MM - 1e-9 || a.y >= b.bottom();
                assert!(apart_x || apart_y, "{a:?} and {b:?} overlap");
            }
        }
        // Row by row: the second card is right of the first, the third below it.
        assert!(slots[1].x > slots[0].x && slots[1].y == slots[0].y);
        assert!(slots[2].x == slots[0].x && slots[2].y > slots[0].y);
        // Centred: equal margins left and right, top and bottom.
        assert!((slots[0].x - (PAGE_WIDTH_MM - slots[1].right())).abs() < 1e-9);
        assert!((slots[0].y - (PAGE_HEIGHT_MM - slots[7].bottom())).abs() < 1e-9);
    }

    #[test]
    fn the_qr_code_sits_inside_its_card_and_leaves_room_for_the_text() {
        for slot in card_slots() {
            let qr = qr_box(&slot);
            assert!(slot.contains(&qr), "{qr:?} outside {slot:?}");
            assert!(qr.x - slot.x >= 45.0, "room for name and bank on the left");
            assert!(
                slot.bottom() - qr.bottom() >= 12.0,
                "room for the number below"
            );
        }
    }

    #[test]
    fn members_fill_pages_of_eight_and_an_empty_unit_has_one_empty_page() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(1), 1);
        assert_eq!(page_count(8), 1);
        assert_eq!(page_count(9), 2);
        assert_eq!(page_count(10), 2);
        assert_eq!(page_count(17), 3);
        assert_eq!(page_window(1, 0), Some((0, 0)));
        assert_eq!(page_window(2, 0), None);
        assert_eq!(page_window(1, 10), Some((0, 8)));
        assert_eq!(page_window(2, 10), Some((8, 2)));
        assert_eq!(page_window(2, 16), Some((8, 8)));
        assert_eq!(page_window(3, 16), None);
        assert_eq!(page_window(0, 10), None);
        assert_eq!(page_window(u64::MAX, 10), None);
    }

    #[test]
    fn card_numbers_print_in_groups_of_four() {
        let number = card_number(427);
        assert_eq!(format_card_number(&number), "8866 0000 0000 4271");
        assert_eq!(format_card_number("8866"), "8866");
    }
}
