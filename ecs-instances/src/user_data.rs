//! User data can carry secrets (registry credentials, tokens): plans, logs and `Debug` show
//! its digest and length, never its text.

use std::fmt;

use sha2::{Digest, Sha256};

/// `sha256:<first 12 hex digits> (<n> bytes)`: enough to tell two scripts apart in a plan,
/// nothing of what they say.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex} ({} bytes)", bytes.len())
}

/// [`digest`] of base64 user data as EC2 takes and returns it, digesting the decoded script
/// (what a person can compare with their file); text that is not base64 is digested as is.
pub fn digest_base64(encoded: &str) -> String {
    match aws_smithy_types::base64::decode(encoded) {
        Ok(bytes) => digest(&bytes),
        Err(_) => digest(encoded.as_bytes()),
    }
}

/// User data as the inputs hold it: its `Debug` is its digest.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct UserData(pub String);

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserData({})", digest(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_hides_the_text() {
        let secret = "#!/bin/bash\necho REGISTRY_PASSWORD=hunter2\n";
        let d = digest(secret.as_bytes());
        assert!(d.starts_with("sha256:") && d.ends_with(&format!("({} bytes)", secret.len())));
        assert_eq!(
            d.len(),
            "sha256:".len() + 12 + format!(" ({} bytes)", secret.len()).len()
        );
        assert!(!d.contains("hunter2"));
        // The base64 form digests to the same as the text it encodes.
        let encoded = aws_smithy_types::base64::encode(secret);
        assert_eq!(digest_base64(&encoded), d);
        assert_ne!(digest(b"other"), d);
        let debug = format!("{:?}", UserData(secret.into()));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
