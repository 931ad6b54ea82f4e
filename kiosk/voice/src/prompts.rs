//! The one table of spoken prompts: an id (the WAV's file name) and the
//! fixed text the synthesiser reads.
//!
//! The build script includes this file too (`#[path]`), so the texts that are
//! synthesised and the ids the app plays can never drift apart. Prompts are
//! fixed texts by construction: nothing a petitioner entered or a card held
//! can reach the speaker. Keep them short (under about 6 seconds spoken, the
//! tests check 8) and in characters the Mandarin dictionary of espeak-ng
//! knows (the build warns and a test fails otherwise).

macro_rules! prompts {
    ($($(#[$doc:meta])* $variant:ident = $id:literal : $text:literal,)*) => {
        /// A spoken prompt.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Prompt {
            $($(#[$doc])* $variant,)*
        }

        impl Prompt {
            /// Every prompt, in table order.
            pub const ALL: &'static [Prompt] = &[$(Prompt::$variant,)*];

            /// The stable id, also the file name (`<id>.wav`) of a replacement recording.
            pub fn id(self) -> &'static str {
                match self {
                    $(Prompt::$variant => $id,)*
                }
            }

            /// What is said.
            pub fn text(self) -> &'static str {
                match self {
                    $(Prompt::$variant => $text,)*
                }
            }
        }
    };
}

prompts! {
    /// The welcome screen.
    Welcome = "welcome": "您好，在这里可以自助登记。请点开始登记。",
    /// The card screen: where the card goes.
    PlaceCard = "place-card": "请把身份证放在读卡器上。",
    /// The card could not be read (any error on the card screen).
    CardRetry = "card-retry": "没有读到证件，请把身份证放平，再试一次。",
    /// The identity screen, right after the card was read.
    CardRead = "card-read": "已经读到身份证，请核对您的信息。",
    /// The category screen.
    ChooseCategory = "choose-category": "请选择您要反映的问题类别。",
    /// The capture screen, and the camera sees no page.
    PlacePage = "place-page": "请把材料平放在拍摄区域内。",
    /// The camera sees a page that is moving or not yet sharp.
    HoldStill = "hold-still": "请保持材料不动。",
    /// A page was taken.
    PageTaken = "page-taken": "这一页拍好了，请放下一页。",
    /// The page taken was blank.
    PageBlank = "page-blank": "这一页是空白页，请翻到有字的一面。",
    /// The page taken had been taken before.
    PageDuplicate = "page-duplicate": "这一页已经拍过了，请放下一页。",
    /// Any other problem with a photo.
    PageRetry = "page-retry": "这一张没有拍好，请再拍一次。",
    /// The progress query: the person's registrations and their state.
    Progress = "progress": "这是您以前的登记和办理进度。",
    /// Rating a closed case.
    Rating = "rating": "请为这次办理打分，也可以选几个原因。",
    /// The optional description.
    Describe = "describe": "可以写几句，或者直接说出您的诉求，也可以点跳过。",
    /// A voice note held no speech.
    VoiceNoSpeech = "voice-no-speech": "没有听到声音，请靠近话筒再说一次。",
    /// The contact phone.
    Phone = "phone": "请输入您的联系电话，方便工作人员联系您。",
    /// The review screen.
    Review = "review": "请核对登记内容，没有问题就点提交。",
    /// The submitting screen.
    Submitting = "submitting": "正在提交，请稍候。",
    /// The receipt screen, before the printer has answered.
    Registered = "registered": "登记完成。",
    /// The receipt was printed.
    TakeReceipt = "take-receipt": "回执已经打印，请取走回执。",
    /// No printed receipt: the screen shows it instead.
    ReceiptOnScreen = "receipt-on-screen": "请用手机拍下屏幕上的回执。",
    /// The inactivity countdown started on a form screen.
    StillThere = "still-there": "您还在吗？要继续登记，请点一下屏幕。",
    /// The fault screen.
    Fault = "fault": "设备出了故障，请找工作人员帮忙。",
    /// Any other error message on a screen.
    LookAtScreen = "look-at-screen": "请看屏幕上的提示。",
}
