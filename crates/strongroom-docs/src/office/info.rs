//! The `EncryptionInfo` stream of agile encryption (MS-OFFCRYPTO 2.3.4.10): a 8-byte binary
//! prefix followed by an XML descriptor, written by us and parsed from untrusted files.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::{BytesStart, Event};

use super::agile::{AES_BLOCK, HashAlg};
use crate::{Error, Result};

/// `EncryptionVersionInfo` of agile encryption: vMajor 4, vMinor 4 (2.3.4.10). FROZEN.
const VERSION_AGILE: [u8; 4] = [4, 0, 4, 0];
/// `Reserved` field that MUST be 0x00000040 (2.3.4.10). FROZEN.
const RESERVED_AGILE: [u8; 4] = [0x40, 0, 0, 0];
/// The largest `EncryptionInfo` we read: real ones are ~1-2 KiB; certificate encryptors add a
/// few KiB each. Bounded so a hostile file cannot make us buffer gigabytes.
pub(crate) const MAX_INFO_LEN: u64 = 1 << 20;
/// Upper bound of `spinCount` in the schema (`ST_SpinCount`); also our DoS guard.
pub(crate) const MAX_SPIN_COUNT: u32 = 10_000_000;

const NS_ENCRYPTION: &str = "http://schemas.microsoft.com/office/2006/encryption";
const NS_PASSWORD: &str = "http://schemas.microsoft.com/office/2006/keyEncryptor/password";
const NS_CERTIFICATE: &str = "http://schemas.microsoft.com/office/2006/keyEncryptor/certificate";

/// The cipher description shared by `keyData` and `p:encryptedKey` (`CT_KeyData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CipherParams {
    /// `saltValue` (its length is `saltSize`).
    pub salt: Vec<u8>,
    /// `keyBits` / 8.
    pub key_bytes: usize,
    /// `hashAlgorithm` (its size is `hashSize`).
    pub hash: HashAlg,
}

/// The password key encryptor (`CT_PasswordKeyEncryptor`, 2.3.4.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswordKeyEncryptor {
    pub params: CipherParams,
    pub spin_count: u32,
    pub encrypted_verifier_hash_input: Vec<u8>,
    pub encrypted_verifier_hash_value: Vec<u8>,
    pub encrypted_key_value: Vec<u8>,
}

/// Everything in an agile `EncryptionInfo` stream that decryption needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptionInfo {
    /// `keyData`: how the package itself is encrypted.
    pub key_data: CipherParams,
    /// `dataIntegrity/@encryptedHmacKey` (2.3.4.14).
    pub encrypted_hmac_key: Vec<u8>,
    /// `dataIntegrity/@encryptedHmacValue` (2.3.4.14).
    pub encrypted_hmac_value: Vec<u8>,
    /// The password key encryptor.
    pub password: PasswordKeyEncryptor,
}

fn cipher_attrs(p: &CipherParams) -> String {
    format!(
        "saltSize=\"{}\" blockSize=\"{AES_BLOCK}\" keyBits=\"{}\" hashSize=\"{}\" \
         cipherAlgorithm=\"AES\" cipherChaining=\"ChainingModeCBC\" hashAlgorithm=\"{}\" \
         saltValue=\"{}\"",
        p.salt.len(),
        p.key_bytes * 8,
        p.hash.size(),
        p.hash.name(),
        B64.encode(&p.salt)
    )
}

impl EncryptionInfo {
    /// Serialise as the full stream content: version, reserved, XML (UTF-8, as Office writes
    /// it: a declaration, CRLF, then one line).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let pk = &self.password;
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
             <encryption xmlns=\"{NS_ENCRYPTION}\" xmlns:p=\"{NS_PASSWORD}\" xmlns:c=\"{NS_CERTIFICATE}\">\
             <keyData {kd}/>\
             <dataIntegrity encryptedHmacKey=\"{hk}\" encryptedHmacValue=\"{hv}\"/>\
             <keyEncryptors><keyEncryptor uri=\"{NS_PASSWORD}\">\
             <p:encryptedKey spinCount=\"{spin}\" {pp} encryptedVerifierHashInput=\"{vi}\" \
             encryptedVerifierHashValue=\"{vv}\" encryptedKeyValue=\"{kv}\"/>\
             </keyEncryptor></keyEncryptors></encryption>",
            kd = cipher_attrs(&self.key_data),
            hk = B64.encode(&self.encrypted_hmac_key),
            hv = B64.encode(&self.encrypted_hmac_value),
            spin = pk.spin_count,
            pp = cipher_attrs(&pk.params),
            vi = B64.encode(&pk.encrypted_verifier_hash_input),
            vv = B64.encode(&pk.encrypted_verifier_hash_value),
            kv = B64.encode(&pk.encrypted_key_value),
        );
        let mut out = Vec::with_capacity(8 + xml.len());
        out.extend_from_slice(&VERSION_AGILE);
        out.extend_from_slice(&RESERVED_AGILE);
        out.extend_from_slice(xml.as_bytes());
        out
    }

    /// Parse an `EncryptionInfo` stream, rejecting everything but agile AES-CBC with a
    /// password key encryptor.
    pub(crate) fn parse(stream: &[u8]) -> Result<Self> {
        let (version, rest) = stream
            .split_first_chunk::<4>()
            .ok_or_else(|| Error::malformed("EncryptionInfo", "shorter than its header"))?;
        let (major, minor) = (
            u16::from_le_bytes([version[0], version[1]]),
            u16::from_le_bytes([version[2], version[3]]),
        );
        match (major, minor) {
            (4, 4) => {}
            (2..=4, 2) => {
                return Err(Error::UnsupportedEncryption(
                    "ECMA-376 Standard encryption (only Agile is supported)".into(),
                ));
            }
            (3 | 4, 3) => {
                return Err(Error::UnsupportedEncryption("ECMA-376 Extensible encryption".into()));
            }
            _ => {
                return Err(Error::UnsupportedEncryption(format!(
                    "EncryptionInfo version {major}.{minor}"
                )));
            }
        }
        let (reserved, xml) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Error::malformed("EncryptionInfo", "shorter than its header"))?;
        if *reserved != RESERVED_AGILE {
            return Err(Error::malformed("EncryptionInfo", "reserved field is not 0x40"));
        }
        parse_xml(xml)
    }
}

/// Attributes of one element, keyed by local name (namespaces are checked by position).
struct Attrs(Vec<(String, String)>);

impl Attrs {
    fn of(e: &BytesStart<'_>) -> Result<Self> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| Error::malformed("EncryptionInfo", err.to_string()))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| Error::malformed("EncryptionInfo", err.to_string()))?
                .into_owned();
            out.push((key, value));
        }
        Ok(Attrs(out))
    }

    fn get(&self, name: &'static str) -> Result<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::malformed("EncryptionInfo", format!("missing attribute {name}")))
    }

    fn num(&self, name: &'static str) -> Result<u32> {
        self.get(name)?
            .trim()
            .parse()
            .map_err(|_| Error::malformed("EncryptionInfo", format!("attribute {name} is not a number")))
    }

    fn b64(&self, name: &'static str) -> Result<Vec<u8>> {
        B64.decode(self.get(name)?.trim())
            .map_err(|_| Error::malformed("EncryptionInfo", format!("attribute {name} is not base64")))
    }

    fn cipher(&self) -> Result<CipherParams> {
        let cipher = self.get("cipherAlgorithm")?;
        if cipher != "AES" {
            return Err(Error::UnsupportedEncryption(format!("cipher {cipher:?}")));
        }
        let chaining = self.get("cipherChaining")?;
        if chaining != "ChainingModeCBC" {
            return Err(Error::UnsupportedEncryption(format!("chaining mode {chaining:?}")));
        }
        if self.num("blockSize")? as usize != AES_BLOCK {
            return Err(Error::malformed("EncryptionInfo", "AES blockSize is not 16"));
        }
        let key_bits = self.num("keyBits")?;
        if !matches!(key_bits, 128 | 192 | 256) {
            return Err(Error::UnsupportedEncryption(format!("AES with {key_bits}-bit keys")));
        }
        let hash = HashAlg::from_name(self.get("hashAlgorithm")?)?;
        if self.num("hashSize")? as usize != hash.size() {
            return Err(Error::malformed(
                "EncryptionInfo",
                "hashSize does not match hashAlgorithm",
            ));
        }
        let salt = self.b64("saltValue")?;
        if salt.is_empty() || self.num("saltSize")? as usize != salt.len() {
            return Err(Error::malformed("EncryptionInfo", "saltSize does not match saltValue"));
        }
        Ok(CipherParams {
            salt,
            key_bytes: key_bits as usize / 8,
            hash,
        })
    }
}

fn parse_xml(xml: &[u8]) -> Result<EncryptionInfo> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut key_data = None;
    let mut integrity = None;
    let mut password = None;
    let mut saw_certificate = false;
    // The `uri` of the `keyEncryptor` we are inside: both password and certificate encryptors
    // name their child `encryptedKey`, so the parent decides which one it is.
    let mut encryptor_uri: Option<String> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| Error::malformed("EncryptionInfo", format!("XML: {err}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => match e.local_name().as_ref() {
                b"keyData" => key_data = Some(Attrs::of(e)?.cipher()?),
                b"dataIntegrity" => {
                    let a = Attrs::of(e)?;
                    integrity = Some((a.b64("encryptedHmacKey")?, a.b64("encryptedHmacValue")?));
                }
                b"keyEncryptor" => {
                    let uri = Attrs::of(e)?.get("uri")?.to_owned();
                    if matches!(event, Event::Start(_)) {
                        encryptor_uri = Some(uri);
                    }
                }
                b"encryptedKey" => match encryptor_uri.as_deref() {
                    Some(NS_PASSWORD) if password.is_none() => {
                        let a = Attrs::of(e)?;
                        let spin_count = a.num("spinCount")?;
                        if spin_count > MAX_SPIN_COUNT {
                            return Err(Error::malformed("EncryptionInfo", "spinCount above 10,000,000"));
                        }
                        password = Some(PasswordKeyEncryptor {
                            params: a.cipher()?,
                            spin_count,
                            encrypted_verifier_hash_input: a.b64("encryptedVerifierHashInput")?,
                            encrypted_verifier_hash_value: a.b64("encryptedVerifierHashValue")?,
                            encrypted_key_value: a.b64("encryptedKeyValue")?,
                        });
                    }
                    _ => saw_certificate = true,
                },
                _ => {}
            },
            Event::End(ref e) if e.local_name().as_ref() == b"keyEncryptor" => {
                encryptor_uri = None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let key_data = key_data.ok_or_else(|| Error::malformed("EncryptionInfo", "no keyData element"))?;
    let password = match password {
        Some(p) => p,
        None if saw_certificate => {
            return Err(Error::UnsupportedEncryption(
                "certificate key encryptor without a password encryptor".into(),
            ));
        }
        None => {
            return Err(Error::malformed("EncryptionInfo", "no password key encryptor"));
        }
    };
    // A file without an integrity code could be altered undetected, so it is refused rather
    // than decrypted unchecked.
    let (encrypted_hmac_key, encrypted_hmac_value) = integrity
        .ok_or_else(|| Error::UnsupportedEncryption("no dataIntegrity element (integrity cannot be checked)".into()))?;
    Ok(EncryptionInfo {
        key_data,
        encrypted_hmac_key,
        encrypted_hmac_value,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EncryptionInfo {
        let params = CipherParams {
            salt: vec![1; 16],
            key_bytes: 32,
            hash: HashAlg::Sha512,
        };
        EncryptionInfo {
            key_data: params.clone(),
            encrypted_hmac_key: vec![2; 64],
            encrypted_hmac_value: vec![3; 64],
            password: PasswordKeyEncryptor {
                params,
                spin_count: 100_000,
                encrypted_verifier_hash_input: vec![4; 16],
                encrypted_verifier_hash_value: vec![5; 64],
                encrypted_key_value: vec![6; 32],
            },
        }
    }

    #[test]
    fn round_trips() {
        let info = sample();
        let bytes = info.to_bytes();
        assert_eq!(&bytes[..8], &[4, 0, 4, 0, 0x40, 0, 0, 0]);
        assert_eq!(EncryptionInfo::parse(&bytes).unwrap(), info);
    }

    #[test]
    fn rejects_standard_and_garbage() {
        assert!(matches!(
            EncryptionInfo::parse(&[3, 0, 2, 0, 0x24, 0, 0, 0]),
            Err(Error::UnsupportedEncryption(_))
        ));
        assert!(matches!(EncryptionInfo::parse(&[4, 0]), Err(Error::Malformed { .. })));
        let mut bad = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
        bad.extend_from_slice(b"<encryption><keyData");
        assert!(EncryptionInfo::parse(&bad).is_err());
    }

    #[test]
    fn requires_data_integrity() {
        let xml = String::from_utf8(sample().to_bytes()[8..].to_vec()).unwrap();
        let start = xml.find("<dataIntegrity").unwrap();
        let end = start + xml[start..].find("/>").unwrap() + 2;
        let stripped = format!("{}{}", &xml[..start], &xml[end..]);
        let mut bytes = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
        bytes.extend_from_slice(stripped.as_bytes());
        assert!(matches!(
            EncryptionInfo::parse(&bytes),
            Err(Error::UnsupportedEncryption(_))
        ));
    }
}
