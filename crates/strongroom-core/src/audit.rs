//! The vocabulary of the audit trail. Events are recorded by exactly one function in the store
//! (`strongroom_store::audit::record`); this module only says what an event is.

use serde::Serialize;

/// Whether the audited attempt succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// What an audit event records (`docs/audit.md` lists them all, generated from here). The
/// dotted name is what the trail stores and filters on; names are never reused for another
/// meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    SetupOwner,
    Login,
    Logout,
    UserCreate,
    UserUpdate,
    PasswordChange,
    PasswordReset,
    TransferOwnership,
    UserExport,
    UserErase,
    UserFreeze,
    UserUnfreeze,
    GroupCreate,
    GroupDelete,
    GroupMemberAdd,
    GroupMemberRemove,
    TokenCreate,
    TokenRevoke,
    RoomCreate,
    RoomRename,
    RoomDelete,
    RoomPolicy,
    GrantSet,
    GrantRemove,
    FolderCreate,
    FolderUpdate,
    FolderTrash,
    FolderRestore,
    FolderPurge,
    FileUpload,
    VersionUpload,
    FileUpdate,
    FileTrash,
    FileRestore,
    FilePurge,
    FileDownload,
    FileCopy,
    FileProtect,
    FileWatermark,
    FileWatermarkImage,
    IntegrityFailure,
    LinkCreate,
    LinkRevoke,
    LinkOpen,
    LinkUnlock,
    LinkFolderView,
    LinkFileView,
    EncryptionConvert,
    EncryptionRotate,
    PasswordPolicySet,
    SignInRulesSet,
    MailSettingsSet,
    PasswordResetRequest,
    InvitationCreate,
    InvitationWithdraw,
    SignUpRequest,
    SignUpSettingsSet,
    UploadLimitsSet,
    UserUnlock,
    SessionEnd,
    SecondFactorAdd,
    SecondFactorConfirm,
    SecondFactorRemove,
    SecondFactorReset,
    BackupCodesGenerate,
    BackupCodeUse,
    StepUp,
    SecondFactorRulesSet,
    SmsSettingsSet,
    SecretSet,
    SecretDelete,
    OrphansRemove,
    AuditExport,
    AuditVerify,
    AuditPrune,
    AuditSettingsSet,
    AlertRulesSet,
    AlertFire,
}

impl AuditAction {
    /// Every action, for documentation and for filters.
    pub const ALL: &'static [AuditAction] = &[
        AuditAction::SetupOwner,
        AuditAction::Login,
        AuditAction::Logout,
        AuditAction::UserCreate,
        AuditAction::UserUpdate,
        AuditAction::PasswordChange,
        AuditAction::PasswordReset,
        AuditAction::TransferOwnership,
        AuditAction::UserExport,
        AuditAction::UserErase,
        AuditAction::UserFreeze,
        AuditAction::UserUnfreeze,
        AuditAction::GroupCreate,
        AuditAction::GroupDelete,
        AuditAction::GroupMemberAdd,
        AuditAction::GroupMemberRemove,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::RoomCreate,
        AuditAction::RoomRename,
        AuditAction::RoomDelete,
        AuditAction::RoomPolicy,
        AuditAction::GrantSet,
        AuditAction::GrantRemove,
        AuditAction::FolderCreate,
        AuditAction::FolderUpdate,
        AuditAction::FolderTrash,
        AuditAction::FolderRestore,
        AuditAction::FolderPurge,
        AuditAction::FileUpload,
        AuditAction::VersionUpload,
        AuditAction::FileUpdate,
        AuditAction::FileTrash,
        AuditAction::FileRestore,
        AuditAction::FilePurge,
        AuditAction::FileDownload,
        AuditAction::FileCopy,
        AuditAction::FileProtect,
        AuditAction::FileWatermark,
        AuditAction::FileWatermarkImage,
        AuditAction::IntegrityFailure,
        AuditAction::LinkCreate,
        AuditAction::LinkRevoke,
        AuditAction::LinkOpen,
        AuditAction::LinkUnlock,
        AuditAction::LinkFolderView,
        AuditAction::LinkFileView,
        AuditAction::EncryptionConvert,
        AuditAction::EncryptionRotate,
        AuditAction::PasswordPolicySet,
        AuditAction::SignInRulesSet,
        AuditAction::MailSettingsSet,
        AuditAction::PasswordResetRequest,
        AuditAction::InvitationCreate,
        AuditAction::InvitationWithdraw,
        AuditAction::SignUpRequest,
        AuditAction::SignUpSettingsSet,
        AuditAction::UploadLimitsSet,
        AuditAction::UserUnlock,
        AuditAction::SessionEnd,
        AuditAction::SecondFactorAdd,
        AuditAction::SecondFactorConfirm,
        AuditAction::SecondFactorRemove,
        AuditAction::SecondFactorReset,
        AuditAction::BackupCodesGenerate,
        AuditAction::BackupCodeUse,
        AuditAction::StepUp,
        AuditAction::SecondFactorRulesSet,
        AuditAction::SmsSettingsSet,
        AuditAction::SecretSet,
        AuditAction::SecretDelete,
        AuditAction::OrphansRemove,
        AuditAction::AuditExport,
        AuditAction::AuditVerify,
        AuditAction::AuditPrune,
        AuditAction::AuditSettingsSet,
        AuditAction::AlertRulesSet,
        AuditAction::AlertFire,
    ];

    /// The dotted name stored in the trail.
    pub fn name(self) -> &'static str {
        match self {
            AuditAction::SetupOwner => "setup.owner",
            AuditAction::Login => "auth.login",
            AuditAction::Logout => "auth.logout",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::PasswordChange => "user.password.change",
            AuditAction::PasswordReset => "user.password.reset",
            AuditAction::TransferOwnership => "user.transfer_ownership",
            AuditAction::UserExport => "user.export",
            AuditAction::UserErase => "user.erase",
            AuditAction::UserFreeze => "user.freeze",
            AuditAction::UserUnfreeze => "user.unfreeze",
            AuditAction::GroupCreate => "group.create",
            AuditAction::GroupDelete => "group.delete",
            AuditAction::GroupMemberAdd => "group.member.add",
            AuditAction::GroupMemberRemove => "group.member.remove",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::RoomCreate => "room.create",
            AuditAction::RoomRename => "room.rename",
            AuditAction::RoomDelete => "room.delete",
            AuditAction::RoomPolicy => "room.policy",
            AuditAction::GrantSet => "grant.set",
            AuditAction::GrantRemove => "grant.remove",
            AuditAction::FolderCreate => "folder.create",
            AuditAction::FolderUpdate => "folder.update",
            AuditAction::FolderTrash => "folder.trash",
            AuditAction::FolderRestore => "folder.restore",
            AuditAction::FolderPurge => "folder.purge",
            AuditAction::FileUpload => "file.upload",
            AuditAction::VersionUpload => "file.version.upload",
            AuditAction::FileUpdate => "file.update",
            AuditAction::FileTrash => "file.trash",
            AuditAction::FileRestore => "file.restore",
            AuditAction::FilePurge => "file.purge",
            AuditAction::FileDownload => "file.download",
            AuditAction::FileCopy => "file.copy",
            AuditAction::FileProtect => "file.protect",
            AuditAction::FileWatermark => "file.watermark",
            AuditAction::FileWatermarkImage => "file.watermark_image",
            AuditAction::IntegrityFailure => "file.integrity_failure",
            AuditAction::LinkCreate => "link.create",
            AuditAction::LinkRevoke => "link.revoke",
            AuditAction::LinkOpen => "link.open",
            AuditAction::LinkUnlock => "link.unlock",
            AuditAction::LinkFolderView => "link.folder.view",
            AuditAction::LinkFileView => "link.file.view",
            AuditAction::EncryptionConvert => "settings.encryption.convert",
            AuditAction::EncryptionRotate => "settings.encryption.rotate",
            AuditAction::PasswordPolicySet => "settings.password_policy.set",
            AuditAction::SignInRulesSet => "settings.sign_in_rules.set",
            AuditAction::MailSettingsSet => "settings.mail.set",
            AuditAction::PasswordResetRequest => "user.password.reset_request",
            AuditAction::InvitationCreate => "user.invitation.create",
            AuditAction::InvitationWithdraw => "user.invitation.withdraw",
            AuditAction::SignUpRequest => "user.sign_up.request",
            AuditAction::SignUpSettingsSet => "settings.sign_up.set",
            AuditAction::UploadLimitsSet => "settings.upload_limits.set",
            AuditAction::UserUnlock => "user.unlock",
            AuditAction::SessionEnd => "auth.session.end",
            AuditAction::SecretSet => "settings.secret.set",
            AuditAction::SecretDelete => "settings.secret.delete",
            AuditAction::SecondFactorAdd => "auth.second_factor.add",
            AuditAction::SecondFactorConfirm => "auth.second_factor.confirm",
            AuditAction::SecondFactorRemove => "auth.second_factor.remove",
            AuditAction::SecondFactorReset => "user.second_factor.reset",
            AuditAction::BackupCodesGenerate => "auth.backup_codes.generate",
            AuditAction::BackupCodeUse => "auth.backup_code.use",
            AuditAction::StepUp => "auth.step_up",
            AuditAction::SecondFactorRulesSet => "settings.second_factor.set",
            AuditAction::SmsSettingsSet => "settings.sms.set",
            AuditAction::OrphansRemove => "storage.orphans.remove",
            AuditAction::AuditExport => "audit.export",
            AuditAction::AuditVerify => "audit.verify",
            AuditAction::AuditPrune => "audit.prune",
            AuditAction::AuditSettingsSet => "settings.audit.set",
            AuditAction::AlertRulesSet => "settings.alerts.set",
            AuditAction::AlertFire => "audit.alert",
        }
    }

    /// What the event records, as `docs/audit.md` lists it.
    pub fn description(self) -> &'static str {
        match self {
            AuditAction::SetupOwner => "The first Owner was created with the one-time setup token.",
            AuditAction::Login => "A sign-in (success or failure).",
            AuditAction::Logout => "A session was ended by its holder.",
            AuditAction::UserCreate => "A person was created.",
            AuditAction::UserUpdate => {
                "A person's name, role, modules or status changed (`details.changed`: each field from → to)."
            }
            AuditAction::PasswordChange => "A person changed their own password.",
            AuditAction::PasswordReset => "Someone set another person's password.",
            AuditAction::TransferOwnership => "Ownership of the instance moved to another person.",
            AuditAction::UserExport => {
                "A person's data was exported (right of access: `details` count what the archive holds)."
            }
            AuditAction::UserErase => {
                "A person was erased: their data deleted, their audit events pseudonymised (`details`: the \
                 pseudonym, how many events and their digest, what became of their files)."
            }
            AuditAction::UserFreeze => "A person was frozen: processing of their data restricted, sign-in refused.",
            AuditAction::UserUnfreeze => "A frozen person was unfrozen: their account works again.",
            AuditAction::GroupCreate => "A group was created.",
            AuditAction::GroupDelete => "A group was deleted (with its grants).",
            AuditAction::GroupMemberAdd => "A person joined a group.",
            AuditAction::GroupMemberRemove => "A person left a group.",
            AuditAction::TokenCreate => "An API token was created.",
            AuditAction::TokenRevoke => "An API token was revoked.",
            AuditAction::RoomCreate => "A room was created.",
            AuditAction::RoomRename => "A room was renamed.",
            AuditAction::RoomDelete => "A room was deleted with everything in it.",
            AuditAction::RoomPolicy => "A room's restrictions or watermark policy changed.",
            AuditAction::GrantSet => "A member or a folder/file grant was set.",
            AuditAction::GrantRemove => "A member or a folder/file grant was removed.",
            AuditAction::FolderCreate => "A folder was created.",
            AuditAction::FolderUpdate => "A folder was renamed or moved.",
            AuditAction::FolderTrash => "A folder went to the trash.",
            AuditAction::FolderRestore => "A folder came back from the trash.",
            AuditAction::FolderPurge => "A trashed folder was deleted permanently.",
            AuditAction::FileUpload => "A new file was uploaded.",
            AuditAction::VersionUpload => "A new version of a file was uploaded.",
            AuditAction::FileUpdate => "A file was renamed or moved.",
            AuditAction::FileTrash => "A file went to the trash.",
            AuditAction::FileRestore => "A file came back from the trash.",
            AuditAction::FilePurge => "A trashed file was deleted permanently.",
            AuditAction::FileDownload => "A file's (or a version's) bytes were handed out.",
            AuditAction::FileCopy => "A file was copied into a folder.",
            AuditAction::FileProtect => "A password-protected copy was made (downloaded or stored as a version).",
            AuditAction::FileWatermark => "A watermarked copy was made (downloaded or stored as a version).",
            AuditAction::FileWatermarkImage => "An image watermark was stamped.",
            AuditAction::IntegrityFailure => "Stored bytes failed their integrity check on the way out.",
            AuditAction::LinkCreate => "An external link was made.",
            AuditAction::LinkRevoke => "An external link was revoked.",
            AuditAction::LinkOpen => "An external link's landing page was opened.",
            AuditAction::LinkUnlock => "A link password was tried (success or failure).",
            AuditAction::LinkFolderView => "A link holder listed a folder.",
            AuditAction::LinkFileView => "A link holder read a file's metadata.",
            AuditAction::EncryptionConvert => {
                "Converting stored documents to or from encryption at rest started or finished."
            }
            AuditAction::EncryptionRotate => "Stored documents were re-wrapped under a new master key.",
            AuditAction::PasswordPolicySet => "The password policy was changed (each rule from → to).",
            AuditAction::SignInRulesSet => {
                "The sign-in rules (brute-force limit, session lifetime and idle timeout, login history retention) were changed (each rule from → to)."
            }
            AuditAction::MailSettingsSet => "The outgoing mail settings were changed (each field from → to).",
            AuditAction::PasswordResetRequest => "A password-reset link was sent to a person's e-mail address.",
            AuditAction::InvitationCreate => {
                "An invitation to make an account was sent by e-mail (address, role, modules)."
            }
            AuditAction::InvitationWithdraw => {
                "An invitation was withdrawn (or could not be mailed): its link no longer works."
            }
            AuditAction::SignUpRequest => "A self-sign-up link was sent to an address the sign-up settings admit.",
            AuditAction::SignUpSettingsSet => {
                "The self-sign-up and invitation settings were changed (each field from → to)."
            }
            AuditAction::UploadLimitsSet => {
                "The upload limits (uploads at once, storage quotas) were changed (each field from → to)."
            }
            AuditAction::UserUnlock => "A person's account was unlocked after too many failed sign-ins.",
            AuditAction::SessionEnd => "A browser session was ended by its holder or an administrator.",
            AuditAction::SecretSet => "A stored secret was set.",
            AuditAction::SecretDelete => "A stored secret was deleted.",
            AuditAction::SecondFactorAdd => {
                "A person enrolled a second factor (`details.kind`: totp, sms, passkey); pending until confirmed."
            }
            AuditAction::SecondFactorConfirm => {
                "A pending second factor was confirmed with its first code and is now active."
            }
            AuditAction::SecondFactorRemove => "A person removed one of their second factors.",
            AuditAction::SecondFactorReset => {
                "An administrator (or the console) removed every second factor and backup code of a person who lost theirs; the person is told by e-mail."
            }
            AuditAction::BackupCodesGenerate => {
                "A person got a new set of ten backup codes (the old ones stop working)."
            }
            AuditAction::BackupCodeUse => {
                "A backup code was spent (at sign-in or a step-up); `details.left`: how many remain."
            }
            AuditAction::StepUp => {
                "A signed-in person gave a fresh second factor (or, with none enrolled, their password) for a sensitive change (success or failure)."
            }
            AuditAction::SecondFactorRulesSet => {
                "The second-factor rules changed: who must have one, which methods are allowed (each field from → to)."
            }
            AuditAction::SmsSettingsSet => {
                "The SMS provider changed (provider, base URL, sender; credentials are never recorded)."
            }
            AuditAction::OrphansRemove => "Orphaned blobs and partial uploads were removed.",
            AuditAction::AuditExport => "The audit trail was exported (`details`: the filter and the format).",
            AuditAction::AuditVerify => {
                "The audit chain was verified (`details`: events walked, findings; failure when it is broken)."
            }
            AuditAction::AuditPrune => {
                "Events older than the retention were removed; the chain now starts at a sealed place (`details.from_seq`, `to_seq`)."
            }
            AuditAction::AuditSettingsSet => "The audit trail's settings (retention) changed (each from → to).",
            AuditAction::AlertRulesSet => "The monitoring alert rules changed (each rule before and after).",
            AuditAction::AlertFire => {
                "An alert rule fired: more matching events than its threshold within its window (`details`: rule, count, threshold, window, how many addresses it mails; the target: the person or address)."
            }
        }
    }

    /// The part of the module within its product: the setting changed for `settings.*`
    /// actions, else the thing acted on (`file`, `folder`, `room`, `link`, `auth`, `user`, …).
    pub fn module(self) -> &'static str {
        let name = self.name();
        let mut parts = name.split('.');
        match (parts.next(), parts.next()) {
            (Some("settings"), Some(setting)) => setting,
            (Some(first), _) => first,
            _ => name,
        }
    }

    /// The product the action belongs to: `documents`, `people`, `settings` or `audit`.
    pub fn product(self) -> &'static str {
        match self {
            AuditAction::SetupOwner
            | AuditAction::Login
            | AuditAction::Logout
            | AuditAction::UserCreate
            | AuditAction::UserUpdate
            | AuditAction::PasswordChange
            | AuditAction::PasswordReset
            | AuditAction::TransferOwnership
            | AuditAction::UserExport
            | AuditAction::UserErase
            | AuditAction::UserFreeze
            | AuditAction::UserUnfreeze
            | AuditAction::GroupCreate
            | AuditAction::GroupDelete
            | AuditAction::GroupMemberAdd
            | AuditAction::GroupMemberRemove
            | AuditAction::TokenCreate
            | AuditAction::TokenRevoke
            | AuditAction::UserUnlock
            | AuditAction::PasswordResetRequest
            | AuditAction::InvitationCreate
            | AuditAction::InvitationWithdraw
            | AuditAction::SignUpRequest
            | AuditAction::SecondFactorAdd
            | AuditAction::SecondFactorConfirm
            | AuditAction::SecondFactorRemove
            | AuditAction::SecondFactorReset
            | AuditAction::BackupCodesGenerate
            | AuditAction::BackupCodeUse
            | AuditAction::StepUp
            | AuditAction::SessionEnd => "people",
            AuditAction::RoomCreate
            | AuditAction::RoomRename
            | AuditAction::RoomDelete
            | AuditAction::RoomPolicy
            | AuditAction::GrantSet
            | AuditAction::GrantRemove
            | AuditAction::FolderCreate
            | AuditAction::FolderUpdate
            | AuditAction::FolderTrash
            | AuditAction::FolderRestore
            | AuditAction::FolderPurge
            | AuditAction::FileUpload
            | AuditAction::VersionUpload
            | AuditAction::FileUpdate
            | AuditAction::FileTrash
            | AuditAction::FileRestore
            | AuditAction::FilePurge
            | AuditAction::FileDownload
            | AuditAction::FileCopy
            | AuditAction::FileProtect
            | AuditAction::FileWatermark
            | AuditAction::FileWatermarkImage
            | AuditAction::IntegrityFailure
            | AuditAction::LinkCreate
            | AuditAction::LinkRevoke
            | AuditAction::LinkOpen
            | AuditAction::LinkUnlock
            | AuditAction::LinkFolderView
            | AuditAction::LinkFileView => "documents",
            AuditAction::EncryptionConvert
            | AuditAction::EncryptionRotate
            | AuditAction::SignInRulesSet
            | AuditAction::MailSettingsSet
            | AuditAction::SignUpSettingsSet
            | AuditAction::UploadLimitsSet
            | AuditAction::SecondFactorRulesSet
            | AuditAction::SmsSettingsSet
            | AuditAction::PasswordPolicySet
            | AuditAction::SecretSet
            | AuditAction::SecretDelete
            | AuditAction::OrphansRemove
            | AuditAction::AuditSettingsSet
            | AuditAction::AlertRulesSet => "settings",
            AuditAction::AuditExport | AuditAction::AuditVerify | AuditAction::AuditPrune | AuditAction::AlertFire => {
                "audit"
            }
        }
    }

    /// Whether an administrator (or the console, or the server) does this to someone else or
    /// to the instance: what the monitoring report of administrative actions lists (of the
    /// ones people also do to themselves — a rename, a token revoked, a session ended — only
    /// those done to another). Work on documents is not.
    pub fn is_administration(self) -> bool {
        (self.product() == "settings" || self.product() == "audit") && self != AuditAction::AlertFire
            || (matches!(
                self,
                AuditAction::UserCreate
                    | AuditAction::UserUpdate
                    | AuditAction::UserExport
                    | AuditAction::TokenRevoke
                    | AuditAction::SessionEnd
                    | AuditAction::PasswordReset
                    | AuditAction::TransferOwnership
                    | AuditAction::UserErase
                    | AuditAction::UserFreeze
                    | AuditAction::UserUnfreeze
                    | AuditAction::GroupCreate
                    | AuditAction::GroupDelete
                    | AuditAction::GroupMemberAdd
                    | AuditAction::GroupMemberRemove
                    | AuditAction::UserUnlock
                    | AuditAction::InvitationCreate
                    | AuditAction::InvitationWithdraw
                    | AuditAction::SecondFactorReset
            ))
    }

    /// The action stored under this name, if any.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Clone, Debug, Default)]
pub struct RequestOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The route the request matched, as `METHOD /path/{param}` (never the filled-in path,
    /// which may carry a link secret).
    pub route: Option<String>,
}

/// Who or what set the audited action going.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Initiator {
    /// A browser session (or a request that had no credential yet, such as a sign-in).
    Web,
    /// A bearer API token.
    Api,
    /// The operator at the machine's console.
    Cli,
    /// The holder of an external link.
    Link,
    /// The server itself: a scheduled job, start-up.
    System,
}

impl Initiator {
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Web => "web",
            Initiator::Api => "api",
            Initiator::Cli => "cli",
            Initiator::Link => "link",
            Initiator::System => "system",
        }
    }
}

/// One entry of the audit trail.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub outcome: Outcome,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    /// The actor's display name as it was then.
    pub actor_name: Option<String>,
    /// Set by `by_console`, `by_link` and `Caller::event`; otherwise web for a request and
    /// system for the server's own work.
    pub initiator: Option<Initiator>,
    pub target_kind: Option<&'static str>,
    pub target_id: Option<String>,
    /// The target's name as it was then (a file or folder name, a person's e-mail address).
    pub target_name: Option<String>,
    /// Where the target was then: `room/folder/…/name`.
    pub target_path: Option<String>,
    /// Small JSON object with details (names, sizes, versions) — never secrets or content.
    pub details: serde_json::Value,
    pub origin: RequestOrigin,
}

impl AuditEvent {
    pub fn new(action: AuditAction) -> Self {
        AuditEvent {
            action,
            outcome: Outcome::Success,
            actor_id: None,
            actor_email: None,
            actor_name: None,
            initiator: None,
            target_kind: None,
            target_id: None,
            target_name: None,
            target_path: None,
            details: serde_json::Value::Null,
            origin: RequestOrigin::default(),
        }
    }
    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target_kind = Some(kind);
        self.target_id = Some(id.to_string());
        self
    }
    /// The target's name and path as they are now (before the change, for a rename or a move
    /// whose destination goes into the details).
    pub fn named(mut self, name: impl ToString, path: Option<String>) -> Self {
        self.target_name = Some(name.to_string());
        self.target_path = path;
        self
    }
    pub fn initiated_by(mut self, initiator: Initiator) -> Self {
        self.initiator = Some(initiator);
        self
    }
    /// Who set it going: as given, else web for a request and system for the server's own
    /// work.
    pub fn initiator(&self) -> Initiator {
        self.initiator.unwrap_or(if self.origin.request_id.is_some() {
            Initiator::Web
        } else {
            Initiator::System
        })
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    pub fn by(mut self, actor: &crate::Actor) -> Self {
        self.actor_id = Some(actor.user_id.to_string());
        self.actor_email = Some(actor.email.clone());
        self.actor_name = Some(actor.name.clone());
        self
    }
    /// By the operator at the machine's console (the CLI): the actor is recorded as `cli`.
    pub fn by_console(mut self) -> Self {
        self.actor_id = None;
        self.actor_email = Some("cli".into());
        self.actor_name = None;
        self.initiator = Some(Initiator::Cli);
        self
    }
    /// By the holder of an external link: the actor is recorded as `link:<link id>`.
    pub fn by_link(mut self, link_id: &str) -> Self {
        self.actor_id = Some(format!("link:{link_id}"));
        self.actor_email = None;
        self.actor_name = None;
        self.initiator = Some(Initiator::Link);
        self
    }
    pub fn from_origin(mut self, origin: &RequestOrigin) -> Self {
        self.origin = origin.clone();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.name()), "{} used twice", a.name());
            assert_eq!(AuditAction::parse(a.name()), Some(*a));
        }
        // Written out: the names the trail has always stored stay what they were.
        for (name, action, module) in [
            ("file.download", AuditAction::FileDownload, "documents"),
            ("auth.login", AuditAction::Login, "people"),
            ("user.password.reset", AuditAction::PasswordReset, "people"),
            ("grant.set", AuditAction::GrantSet, "documents"),
            ("settings.secret.set", AuditAction::SecretSet, "settings"),
        ] {
            assert_eq!(AuditAction::parse(name), Some(action));
            assert_eq!(action.product(), module);
        }
        assert_eq!(AuditAction::parse("user.password"), None);
        for (action, module) in [
            (AuditAction::FileDownload, "file"),
            (AuditAction::SignInRulesSet, "sign_in_rules"),
            (AuditAction::PasswordReset, "user"),
            (AuditAction::OrphansRemove, "storage"),
        ] {
            assert_eq!(action.module(), module);
        }
    }
}
