//! The staff screens of the machine (PIN login with lockout, the clerk's
//! menu, a typed identity, the queue view), kept apart from the petitioner's
//! flow.

use idcard_proto::{CardText, DocType, Sex};
use kiosk_privacy::{Address, IdNumber, PersonName};

use super::{Effect, Event, Intake, Message, Millis, Ocr, State};
use crate::staff::StaffRole;

impl Intake {
    /// The staff screens: PIN, clerk menu, typed identity, queue view.
    pub(super) fn step_staff(&mut self, state: State, event: Event, now: Millis, fx: &mut Vec<Effect>) {
        match (state, event) {
            (State::Welcome, Event::StaffEntry) => {
                self.message = None;
                self.state = State::StaffLogin { checking: false };
            }
            (State::StaffLogin { checking: false }, Event::StaffPin(pin)) => {
                match self.lockout.check(now) {
                    Err(secs) => self.say_error(locked_text(secs)),
                    Ok(()) if pin.is_empty() => self.say_error("请输入密码".into()),
                    Ok(()) => {
                        self.message = None;
                        self.state = State::StaffLogin { checking: true };
                        fx.push(Effect::CheckPin {
                            visit: self.visit,
                            pin,
                        });
                    }
                }
            }
            (State::StaffLogin { checking: true }, Event::PinChecked { role, .. }) => match role {
                Some(role) => {
                    self.lockout.succeeded();
                    self.staff = Some(role);
                    self.message = None;
                    // The PIN sub-flow ends; the staff screen starts a visit of its own.
                    self.end_session_to(match role {
                        StaffRole::Clerk => State::ClerkMenu,
                        StaffRole::Technician => State::Technician,
                    });
                }
                None => {
                    self.state = State::StaffLogin { checking: false };
                    match self.lockout.failed(now) {
                        Some(lock) => self.say_error(locked_text(lock.as_secs())),
                        None => self.say_error(format!(
                            "密码不正确，还可以再试 {} 次",
                            self.lockout.attempts_left()
                        )),
                    }
                }
            },
            (State::StaffLogin { .. }, Event::Back) => self.leave_staff(),
            (State::ClerkMenu, Event::ClerkRegister) => {
                self.message = None;
                self.state = State::Card;
            }
            (State::ClerkMenu, Event::ClerkManualEntry) => {
                self.message = None;
                self.state = State::ManualId;
            }
            (State::ClerkMenu, Event::ClerkQueue) => {
                self.message = None;
                self.state = State::QueueView;
                fx.push(Effect::LoadQueue { visit: self.visit });
            }
            (State::QueueView, Event::QueueLoaded { rows, .. }) => self.queue_rows = rows,
            (State::QueueView, Event::Resend(local_ref)) => {
                self.message = Some(Message::info("已重新排队，联网后自动发送"));
                fx.push(Effect::Resend(local_ref));
                fx.push(Effect::LoadQueue { visit: self.visit });
            }
            (State::QueueView, Event::Reprint(local_ref)) => {
                self.message = Some(Message::info("正在补打回执"));
                fx.push(Effect::Reprint(local_ref));
            }
            // The queue view's rows and the typed identity's form end with the sub-flow.
            (State::QueueView | State::ManualId, Event::Back) => self.end_session_to(State::ClerkMenu),
            (State::ManualId, Event::ManualIdentity { id_number, name }) => {
                match typed_identity(id_number, name) {
                    Ok(identity) => self.open_session(identity, true, true, fx),
                    Err(text) => self.say_error(text.into()),
                }
            }
            (State::Review, Event::EditPageText { page_id, text }) => {
                if self.staff != Some(StaffRole::Clerk) {
                    return;
                }
                let page = self
                    .session
                    .as_mut()
                    .and_then(|s| s.pages.iter_mut().find(|p| p.id == page_id));
                if let Some(page) = page {
                    page.ocr = Ocr::Done {
                        text,
                        // Checked by a person: certain, and nothing left in doubt.
                        confidence: 1.0,
                        doubtful: Vec::new(),
                    };
                }
            }
            (_, Event::LeaveStaff) if self.staff.is_some() || self.state != State::Welcome => {
                self.leave_staff()
            }
            // Anything else does not apply to this screen (a late device result, a double tap).
            _ => {}
        }
    }

    /// Logs staff out and returns to welcome.
    pub(super) fn leave_staff(&mut self) {
        self.staff = None;
        self.queue_rows.clear();
        self.end_session_to(State::Welcome);
    }

}

fn locked_text(secs: u64) -> String {
    format!("密码错误次数过多，请 {} 分钟后再试", secs.div_ceil(60))
}

/// The identity a clerk typed for someone without a card: a resident ID
/// number that passes GB 11643, and a name. Sex and birth date come from the
/// number; the address is not known.
fn typed_identity(id_number: IdNumber, name: PersonName) -> Result<CardText, &'static str> {
    let id = id_number.expose().trim().to_ascii_uppercase();
    if idcard_proto::check_id_number(&id).is_err() {
        return Err("证件号码校验未通过，请核对后重新输入");
    }
    let name = name.expose().trim().to_string();
    if name.is_empty() {
        return Err("请输入姓名");
    }
    let sex = match id.as_bytes()[16] - b'0' {
        d if d % 2 == 1 => Sex::Male,
        _ => Sex::Female,
    };
    Ok(CardText {
        doc_type: DocType::Resident,
        birth: idcard_proto::birth_date_of(&id),
        name: PersonName::new(name),
        sex,
        ethnicity: None,
        nationality: None,
        address: Address::default(),
        id_number: IdNumber::new(id),
        authority: String::new(),
        valid_from: None,
        valid_to: None,
    })
}
