//! The one vocabulary of error codes, shared by the server and its clients: every problem
//! answer (`code`), every field error (`errors[].code`) and every refused sync mutation
//! (`problem.code`) carries one of these, and each has its meaning in Chinese and English
//! here, in one table. The contract lists them as an enum, so that a generated client can
//! switch on them; a client meeting a code newer than itself reads it as [`Code::Unknown`].

use serde::{Deserialize, Serialize};

/// What a code means, in the two languages the API speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub zh: &'static str,
    pub en: &'static str,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal: $zh:literal, $en:literal; )*) => {
        /// A stable, snake_case error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
            /// A code this program does not know (sent by a newer server).
            #[serde(other)]
            Unknown,
        }

        impl Code {
            /// Every code but [`Code::Unknown`].
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it travels.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                    Code::Unknown => "unknown",
                }
            }

            /// What it means.
            pub fn text(self) -> Text {
                match self {
                    $(Code::$variant => Text { zh: $zh, en: $en },)*
                    Code::Unknown => Text { zh: "未知错误", en: "Unknown error" },
                }
            }

            /// The code of this name, if there is one.
            pub fn parse(name: &str) -> Option<Code> {
                match name {
                    $($name => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    // Requests as a whole.
    ValidationFailed = "validation_failed": "请求数据有误", "Invalid request data";
    MalformedJson = "malformed_json": "JSON 格式错误", "Malformed JSON";
    InvalidPathParameter = "invalid_path_parameter": "路径参数无效", "Invalid path parameter";
    InvalidQuery = "invalid_query": "查询参数无效", "Invalid query parameter";
    NulCharacter = "nul_character": "请求含有空字符", "The request holds a NUL character";
    BodyUnreadable = "body_unreadable": "请求内容无法读取", "The request body could not be read";
    BodyTooSlow = "body_too_slow": "请求内容发送过慢", "The request body arrived too slowly";
    PayloadTooLarge = "payload_too_large": "请求内容过大", "The request body is too large";
    UnsupportedMediaType = "unsupported_media_type": "不支持的内容类型", "Unsupported content type";
    RouteNotFound = "route_not_found": "接口不存在", "No such endpoint";
    MethodNotAllowed = "method_not_allowed": "该接口不支持此请求方法", "Method not allowed";
    MethodOverrideRefused = "method_override_refused": "不支持该方法覆盖", "This method override is not allowed";
    NotFound = "not_found": "记录不存在", "Not found";
    IfMatchRequired = "if_match_required": "缺少 If-Match 请求头", "If-Match is required";
    VersionMismatch = "version_mismatch": "记录已被他人修改", "The record was changed meanwhile";
    IdempotencyKeyReused = "idempotency_key_reused": "幂等键已用于不同的请求", "The idempotency key was used for another request";
    InvalidIdempotencyKey = "invalid_idempotency_key": "幂等键格式不正确", "Invalid idempotency key";
    TooManyRequests = "too_many_requests": "请求过于频繁", "Too many requests";
    RangeNotSatisfiable = "range_not_satisfiable": "请求的范围超出文件", "The range lies outside the file";
    AlreadyExists = "already_exists": "记录已存在", "The record already exists";
    ReferenceNotFound = "reference_not_found": "引用的记录不存在", "A referenced record does not exist";
    StorageFull = "storage_full": "存储空间已满", "Storage is full";
    ServiceUnavailable = "service_unavailable": "服务暂不可用", "Service unavailable";
    UpstreamUnavailable = "upstream_unavailable": "外部服务不可用", "An outside service is unavailable";
    InternalError = "internal_error": "服务器内部错误", "Internal error";
    ClientUpgradeRequired = "client_upgrade_required": "请升级应用", "Upgrade the app";
    SyncProtocolRequired = "sync_protocol_required": "缺少同步协议版本", "The sync protocol version is missing";
    ResetRequired = "reset_required": "需要重新同步", "Sync again from the start";
    Forbidden = "forbidden": "无权执行此操作", "Not allowed";
    InstallWideData = "install_wide_data": "全辖区共用的数据须由管辖全部区域的账号修改", "Data every jurisdiction shares is changed only by an account whose jurisdiction covers the whole install";
    Unauthorized = "unauthorized": "未登录或登录已失效", "Not signed in";
    BadRequest = "bad_request": "请求无法处理", "The request could not be processed";
    BatchTooLarge = "batch_too_large": "同步批次过大", "The sync batch is too large";

    // Fields.
    Required = "required": "必填", "Required";
    TooLong = "too_long": "过长", "Too long";
    InvalidCharacters = "invalid_characters": "含有不允许的字符", "Holds characters not allowed";
    InvalidFormat = "invalid_format": "格式不正确", "Invalid format";
    InvalidValue = "invalid_value": "取值不正确", "Invalid value";
    OutOfRange = "out_of_range": "超出允许范围", "Out of range";
    UnknownField = "unknown_field": "没有这个字段", "No such field";
    InvalidBirthDate = "invalid_birth_date": "出生日期无效", "Invalid birth date";
    InvalidCheckDigit = "invalid_check_digit": "身份证号码校验位不正确", "Wrong ID number check character";
    InconsistentWithIdNumber = "inconsistent_with_id_number": "与身份证号码不一致", "Disagrees with the ID number";
    DuplicateInHousehold = "duplicate_in_household": "同户成员重复", "The same person twice in the household";
    OneHeadRequired = "one_head_required": "须有且仅有一位户主", "Exactly one head of household";
    InvalidCursor = "invalid_cursor": "分页游标无效", "Invalid cursor";
    WeakPassword = "weak_password": "密码不符合要求", "The password is too weak";
    InvalidParameter = "invalid_parameter": "参数无效", "Invalid parameter";
    InvalidCount = "invalid_count": "数量不正确", "Wrong count";
    InvalidLength = "invalid_length": "长度不正确", "Wrong length";
    InvalidDigest = "invalid_digest": "摘要格式不正确", "Invalid digest";
    InvalidParent = "invalid_parent": "上级区域不符", "The parent region does not fit";
    OutOfOrder = "out_of_order": "顺序不对", "Out of order";
    NotAllowed = "not_allowed": "不允许", "Not allowed";
    Duplicate = "duplicate": "重复", "Repeated";
    Mismatch = "mismatch": "与其他字段不一致", "Disagrees with another field";
    VisitingPhase = "visiting_phase": "走访活动须有走访阶段", "A visit campaign needs a visiting phase";
    // What an officer finds wrong in an application they return.
    Unreadable = "unreadable": "材料无法辨认", "The material cannot be read";
    Inconsistent = "inconsistent": "与其他材料不符", "Disagrees with other materials";
    Expired = "expired": "材料已过期", "The material has expired";
    Incomplete = "incomplete": "材料不完整", "The material is incomplete";

    // Sign-in and sessions.
    TokenMissing = "token_missing": "缺少访问令牌", "No access token";
    TokenInvalid = "token_invalid": "访问令牌无效", "Invalid access token";
    TokenExpired = "token_expired": "访问令牌已过期", "The access token expired";
    SessionEnded = "session_ended": "登录已失效", "The session ended";
    InvalidCredentials = "invalid_credentials": "用户名或密码错误", "Wrong username or password";
    RefreshTokenInvalid = "refresh_token_invalid": "刷新令牌无效", "Invalid refresh token";
    RefreshTokenReused = "refresh_token_reused": "刷新令牌被重复使用", "The refresh token was used twice";
    RefreshTokenExpired = "refresh_token_expired": "刷新令牌已过期", "The refresh token expired";
    UnknownDevice = "unknown_device": "设备未登记", "Unknown device";
    WechatCodeInvalid = "wechat_code_invalid": "微信登录凭证无效", "Invalid WeChat login code";
    WechatNotConfigured = "wechat_not_configured": "未开通微信登录", "WeChat sign-in is not set up";

    // Accounts, regions, devices and access.
    UsernameTaken = "username_taken": "用户名已被使用", "The username is taken";
    RoleNotAssignable = "role_not_assignable": "不能授予该角色", "The role cannot be given";
    RoleRegionMismatch = "role_region_mismatch": "角色与区域级别不符", "The role does not fit the region's level";
    PasswordByAdmin = "password_by_admin": "只有管理员可重设他人密码", "Only an admin sets another's password";
    NotAVillage = "not_a_village": "须为村（社区）", "Not a village";
    DeviceIdTaken = "device_id_taken": "设备编号已被占用", "The device id is taken";
    DeviceRequired = "device_required": "需要已登记的设备", "A registered device is needed";
    TooManyDevices = "too_many_devices": "登记的设备过多", "Too many devices";
    TooManyGrants = "too_many_grants": "临时访问过多", "Too many temporary accesses";
    AlreadyInJurisdiction = "already_in_jurisdiction": "已在管辖范围内", "Already in your jurisdiction";
    AlreadyReviewed = "already_reviewed": "已复核", "Already reviewed";
    UnmaskOutsideJurisdiction = "unmask_outside_jurisdiction": "临时访问不能查看完整信息", "Temporary access does not unmask";
    NotAHelper = "not_a_helper": "不是可指派的帮扶责任人", "Not an assignable helper";

    // The registry.
    PersonAlreadyRegistered = "person_already_registered": "此人已登记", "The person is already registered";
    PersonNotRegistrable = "person_not_registrable": "无法在本辖区登记", "Cannot be registered here";
    HeadOfHousehold = "head_of_household": "不能移除有其他成员的户主", "The head of a household with others";
    HouseholdElsewhere = "household_elsewhere": "该户登记在其他区域", "The household is registered elsewhere";
    AlreadyDecided = "already_decided": "已处理", "Already decided";

    // Applications, case files and payments.
    ApplicationAlreadyOpen = "application_already_open": "已有进行中的申请", "An application is already open";
    ApplicationNotEditable = "application_not_editable": "申请不可修改", "The application cannot be changed";
    IllegalTransition = "illegal_transition": "当前状态下不能这样处理", "Not allowed in this state";
    NotYourStep = "not_your_step": "不在本级审核", "Not your step";
    NoticeNotOver = "notice_not_over": "公示期未满", "The public notice is not over";
    UnknownSituation = "unknown_situation": "没有这种情形", "No such situation";
    NotOnChecklist = "not_on_checklist": "清单中没有这项材料", "Not on the checklist";
    MaterialMissing = "material_missing": "缺少材料", "A material is missing";
    MaterialNotUploaded = "material_not_uploaded": "材料尚未上传", "The material was not uploaded";
    MaterialWrongType = "material_wrong_type": "材料文件类型不符", "The material's file type does not fit";
    AlreadyFiled = "already_filed": "已在有效档案中", "Already in an active case file";
    ProgramCodeTaken = "program_code_taken": "项目代码已被使用", "The program code is taken";
    FileNotActive = "file_not_active": "档案不在有效状态", "The case file is not active";
    AlreadyPaid = "already_paid": "该期已发放", "Already paid for the period";
    AmountNotPositive = "amount_not_positive": "金额须大于零", "The amount must be positive";
    OverCap = "over_cap": "超过上限", "Over the cap";
    SingleAidOnly = "single_aid_only": "只予单一救助", "One kind of aid only";
    NoLongerEligible = "no_longer_eligible": "已不符合建档条件", "No longer eligible";
    ReassessmentRequired = "reassessment_required": "须先重新核算", "A reassessment is needed first";
    NoCounty = "no_county": "该区域不在任何县内", "The region lies in no county";

    // Sync.
    UnknownEntity = "unknown_entity": "没有这种同步实体", "No such synced entity";
    InvalidId = "invalid_id": "编号格式不正确", "Invalid id";
    InvalidHlc = "invalid_hlc": "时间戳无效", "Invalid hybrid-clock time";
    InvalidBaseVersion = "invalid_base_version": "基础版本无效", "Invalid base version";
    ClockAhead = "clock_ahead": "设备时间超前", "The device's clock is ahead";
    OutOfScope = "out_of_scope": "不在管辖范围内", "Outside your jurisdiction";
    MutationIdReused = "mutation_id_reused": "变更编号被重复使用", "The mutation id was used for another change";
    AppendOnly = "append_only": "该记录只能新增", "The record is never changed";
    Immutable = "immutable": "该字段创建后不可修改", "The field is set once and never changes";
    ForwardOnly = "forward_only": "该状态只能向前推进", "The state only moves forward";
    ServerOnlyField = "server_only_field": "该字段只能由服务器的决定设置", "Set only by the server's decision";
    NotTheAuthor = "not_the_author": "须为本人或所辖人员", "Must be yourself or someone you record for";
    ReviewByReviewer = "review_by_reviewer": "审核由村书记作出", "Reviewed by the village secretary";
    SchoolElsewhere = "school_elsewhere": "学校不服务该区域", "The school does not serve the region";
    ConflictAlreadyResolved = "conflict_already_resolved": "冲突已处理", "The conflict was already resolved";
    ResolutionRejected = "resolution_rejected": "所选取值无法写入", "The chosen value cannot be applied";
    ChangeRejected = "change_rejected": "修改无法写入", "The change cannot be applied";
    AlreadySettled = "already_settled": "已处理", "Already settled";
    TooManyBuckets = "too_many_buckets": "桶数过多", "Too many buckets";
    CaseNoInvalid = "case_no_invalid": "案件编号格式不正确", "Invalid case number";
    CaseNoTaken = "case_no_taken": "案件编号已被使用", "The case number is taken";
    CaseNoNotReserved = "case_no_not_reserved": "案件编号不在本设备预留范围", "The case number is not this device's";
    CaseNumbersExhausted = "case_numbers_exhausted": "编号已用完", "The numbers are used up";

    // Uploads and photos.
    HashMismatch = "hash_mismatch": "文件摘要不符", "The file's digest differs";
    UnsupportedFileType = "unsupported_file_type": "不支持的文件类型", "Unsupported file type";
    ImageUnreadable = "image_unreadable": "图像无法识别", "The image cannot be read";
    ImageTooLarge = "image_too_large": "图像像素过多", "The image has too many pixels";
    FileTooLarge = "file_too_large": "文件过大", "The file is too large";
    OffsetMismatch = "offset_mismatch": "上传偏移量不符", "The upload offset differs";
    UploadOffsetRequired = "upload_offset_required": "缺少上传偏移量", "Upload-Offset is required";
    UploadComplete = "upload_complete": "上传已完成", "The upload is complete";
    UploadBusy = "upload_busy": "该上传正在进行", "The upload is busy";
    TusVersionUnsupported = "tus_version_unsupported": "不支持该 tus 协议版本", "This tus protocol version is not supported";
    UploadInterrupted = "upload_interrupted": "上传中断", "The upload was interrupted";
    TooManyOpenUploads = "too_many_open_uploads": "未完成的上传过多", "Too many unfinished uploads";
    DerivativePending = "derivative_pending": "缩略图正在生成", "The resized copy is being made";
    NoResizedCopy = "no_resized_copy": "该格式没有缩略图", "No resized copy for this format";
    LocationWithheld = "location_withheld": "原件含位置信息，不予提供", "The original carries its location";
    PhotoAlreadyReviewed = "photo_already_reviewed": "照片已审核", "The photo was already reviewed";
    OwnPhoto = "own_photo": "不能审核自己的照片", "Not one's own photo";
    PhotoFileMissing = "photo_file_missing": "照片文件尚未上传", "The photo's file has not arrived";

    // Field work: what a dropout case still lacks, and what a person should look at.
    DocumentMissing = "document_missing": "缺少文书", "A document is missing";
    PhotoMissing = "photo_missing": "缺少照片", "A photo is missing";
    AttemptPhotoMissing = "attempt_photo_missing": "劝返记录缺少照片", "An attempt lacks its photo";
    SchoolAttemptMissing = "school_attempt_missing": "缺少学校的劝返记录", "No persuasion attempt by the school";
    VillageAttemptMissing = "village_attempt_missing": "缺少村里的劝返记录", "No persuasion attempt by the village";
    RepeatedPersuasionMissing = "repeated_persuasion_missing": "缺少多次劝返记录", "Persuasion was not repeated";
    TeamIncomplete = "team_incomplete": "三帮一人员不全", "The retrieval team is incomplete";
    CourtBeforePenalty = "court_before_penalty": "申请强制执行须在处罚决定之后", "The court application comes after the penalty";
    ReturnUnconfirmed = "return_unconfirmed": "复学未经学校确认", "The return is not confirmed by the school";
    StudentStatusMissing = "student_status_missing": "缺少学籍", "No student status";
    ElsewhereDetailMissing = "elsewhere_detail_missing": "缺少异地就读信息", "Where the child studies now is missing";
    UnknownOutcome = "unknown_outcome": "没有这种结案情形", "No such outcome";
    OutcomeMissing = "outcome_missing": "缺少结案情形", "The outcome is missing";
    StageAheadOfEvidence = "stage_ahead_of_evidence": "阶段超前于证据", "The stage is ahead of its evidence";
    RecordedAfterClose = "recorded_after_close": "结案后仍有记录", "Recorded after the case closed";
    ClosedWithoutEvidence = "closed_without_evidence": "结案缺少证据", "Closed without the evidence";
    // Field work.
    NotAtYourLevel = "not_at_your_level": "不在本级审核", "Not for your level";
    StepOutOfOrder = "step_out_of_order": "步骤顺序不对", "Out of step order";
    NotTheIssuer = "not_the_issuer": "须由签发机关登记", "Recorded by the issuing body";
    PenaltyBeforeDeadline = "penalty_before_deadline": "复学期限未到", "The return deadline has not passed";
    PhaseAlreadyCompleted = "phase_already_completed": "该阶段已完成", "The phase is already done";
    TooManyPupils = "too_many_pupils": "结对学生过多", "Too many pupils";
    DifficultyRepeated = "difficulty_repeated": "同类困难学生重复", "The same kind of difficulty twice";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_name_and_means_something_in_both_languages() {
        let mut names = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let json = serde_json::to_value(c).unwrap_or_default();
            assert_eq!(json, c.as_str(), "{c:?}");
            assert_eq!(Code::parse(c.as_str()), Some(*c));
            assert!(names.insert(c.as_str()), "{} twice", c.as_str());
            let t = c.text();
            assert!(!t.zh.is_empty() && !t.en.is_empty(), "{c:?}");
        }
        let newer: Code =
            serde_json::from_str("\"a_code_from_the_future\"").unwrap_or(Code::NotFound);
        assert_eq!(newer, Code::Unknown);
    }
}
