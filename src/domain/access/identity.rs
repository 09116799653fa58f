//! Resident identity card numbers (GB 11643-1999): validated by their check digit, and never
//! shown in full.

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Accepts an 18-character ID number whose last character is the right check digit; returns it
/// normalised (upper-case X).
pub fn parse_id_card(text: &str) -> Option<String> {
    let normalised = text.trim().to_ascii_uppercase();
    let chars: Vec<char> = normalised.chars().collect();
    if chars.len() != 18 || !chars[..17].iter().all(char::is_ascii_digit) {
        return None;
    }
    let sum: u32 = chars[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    (CHECK[(sum % 11) as usize] == chars[17]).then_some(normalised)
}

/// `110105********1234`: region code and last four only.
pub fn mask_id_card(id: &str) -> String {
    if id.len() == 18 {
        format!("{}********{}", &id[..6], &id[14..])
    } else {
        "*".repeat(id.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_need_the_right_check_digit() {
        // The standard's published example.
        assert_eq!(
            parse_id_card("11010519491231002x").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(parse_id_card("110105194912310021"), None);
        assert_eq!(parse_id_card("1101051949123100"), None);
        assert_eq!(mask_id_card("11010519491231002X"), "110105********002X");
    }
}
