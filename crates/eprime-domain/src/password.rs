//! The password policy: long enough, not a well-known password, not the username.

use crate::error::FieldError;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

/// A small embedded list of the most common passwords of 12 characters or more (shorter ones
/// already fail the length rule), compared case-insensitively.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678910",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiopas",
    "qwerty123456",
    "qwertyuiop123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "iloveyou1234",
    "administrator",
    "welcome12345",
    "letmein12345",
    "changeme1234",
    "abcdefghijkl",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "123123123123",
    "football1234",
    "baseball1234",
    "superman1234",
    "trustno1trustno1",
    "passw0rd1234",
    "p@ssw0rd1234",
    "starwars1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "master123456",
    "shadow123456",
    "correcthorsebatterystaple",
];

/// Checks a new password; the error says which rule it breaks.
pub fn check(password: &str, username: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(FieldError::new(
            "password",
            format!("must be at least {MIN_CHARS} characters long (it is {chars})"),
        ));
    }
    if chars > MAX_CHARS {
        return Err(FieldError::new("password", format!("must be at most {MAX_CHARS} characters long")));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(FieldError::new("password", "is one of the most common passwords; choose another"));
    }
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(FieldError::new("password", "must not contain the username"));
    }
    Ok(())
}

/// Checks a username: 3–64 characters of lower-case letters, digits, '.', '_' or '-'.
pub fn check_username(username: &str) -> Result<(), FieldError> {
    let ok = (3..=64).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("username", format!("`{username}` must be 3–64 characters of a–z, 0–9, '.', '_' or '-'")))
    }
}

/// Checks the name of a new account of `role`. A participant's account is named by the e-mail
/// address (in lower case) that nominations give for the participant, so that it finds its own
/// nominations; every other account has a plain username (see [`check_username`]).
pub fn check_account_name(username: &str, role: crate::access::Role) -> Result<(), FieldError> {
    if role != crate::access::Role::Participant {
        return check_username(username);
    }
    match crate::menu::email_address(username) {
        Ok(address) if address == username => Ok(()),
        _ => Err(FieldError::new(
            "username",
            format!(
                "a participant's account is named by the participant's e-mail address in lower case \
                 (e.g. sato@mod.example.jp), not `{username}`"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_common_and_personal_passwords() {
        assert!(check("demo-password", "nato.staff").is_ok());
        assert!(check("short", "x").unwrap_err().message.contains("at least 12"));
        assert!(check("Password1234", "x").unwrap_err().message.contains("common"));
        assert!(check("jpn.officer-2026!", "jpn.officer").unwrap_err().message.contains("username"));
    }

    #[test]
    fn usernames_are_plain() {
        assert!(check_username("jpn.officer").is_ok());
        for bad in ["ab", "Upper", "with space", "ünï"] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn participants_are_named_by_their_e_mail_address() {
        use crate::access::Role;
        assert!(check_account_name("sato@mod.example.jp", Role::Participant).is_ok());
        assert!(check_account_name("Sato@mod.example.jp", Role::Participant).is_err(), "lower case only");
        assert!(check_account_name("sato", Role::Participant).is_err());
        assert!(check_account_name("sato@mod.example.jp", Role::PartnerOfficer).is_err());
        assert!(check_account_name("jpn.officer", Role::PartnerOfficer).is_ok());
    }
}
