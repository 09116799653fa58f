//! Personal data shown only as much as needed (PIPL): phone numbers are masked in lists.

/// `13812341234` → `138****1234`. Anything that is not 11 digits is masked entirely.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "*".repeat(phone.chars().count().min(11))
    }
}

/// A mainland-China mobile number: 11 digits starting with 1 and a second digit 3–9.
pub fn is_mainland_mobile(phone: &str) -> bool {
    let bytes = phone.as_bytes();
    bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_in_the_middle() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("12345"), "*****");
    }

    #[test]
    fn only_mainland_mobiles_are_accepted() {
        assert!(is_mainland_mobile("13812341234"));
        assert!(!is_mainland_mobile("12812341234"));
        assert!(!is_mainland_mobile("1381234123"));
        assert!(!is_mainland_mobile("1381234123a"));
    }
}
