//! The technician screen in the state machine: reached from welcome or a
//! fault, never from inside a visit; its buttons become effects only there;
//! it shows the camera picture; leaving or inactivity returns to welcome.

use std::time::Duration;

use intake::{Effect, Event, Intake, Millis, Screen, Timeouts};

/// The effects by name; the end of a visit is bookkeeping, left out here.
fn names(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter(|e| !matches!(e, Effect::EndVisit(_)))
        .map(|e| match e {
            Effect::Preview(on) => format!("preview {on}"),
            Effect::PollCard(on) => format!("poll {on}"),
            Effect::ExportDiagnostics => "export".into(),
            Effect::TestPrint => "test print".into(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_technician_enters_uses_the_buttons_and_leaves() {
    let mut m = Intake::new(Timeouts::default());
    let fx = m.handle(Event::TechnicianEnter, Millis(1_000));
    assert_eq!(m.screen(), Screen::Technician);
    assert_eq!(names(&fx), ["preview true"], "the camera picture is shown");
    assert_eq!(
        names(&m.handle(Event::ExportDiagnostics, Millis(1_100))),
        ["export"]
    );
    assert_eq!(
        names(&m.handle(Event::TestPrint, Millis(1_200))),
        ["test print"]
    );
    let fx = m.handle(Event::LeaveStaff, Millis(1_300));
    assert_eq!(m.screen(), Screen::Welcome);
    assert_eq!(names(&fx), ["preview false"]);
}

#[test]
fn the_technician_buttons_do_nothing_elsewhere_and_a_visit_cannot_be_left_for_it() {
    let mut m = Intake::new(Timeouts::default());
    assert!(m.handle(Event::ExportDiagnostics, Millis(1_000)).is_empty());
    assert!(m.handle(Event::TestPrint, Millis(1_000)).is_empty());
    m.handle(Event::Start, Millis(1_100));
    assert_eq!(m.screen(), Screen::Card);
    m.handle(Event::TechnicianEnter, Millis(1_200));
    assert_eq!(m.screen(), Screen::Card, "not in the middle of a visit");
    m.handle(Event::DeviceFault("读卡器没有响应".into()), Millis(1_300));
    assert_eq!(m.screen(), Screen::Fault);
    m.handle(Event::TechnicianEnter, Millis(1_400));
    assert_eq!(
        m.screen(),
        Screen::Technician,
        "a fault calls for the technician"
    );
    assert!(m.message().is_none(), "the fault text does not follow");
}

#[test]
fn a_technician_screen_left_alone_returns_to_welcome() {
    let t = Timeouts::default();
    let mut m = Intake::new(t);
    m.handle(Event::TechnicianEnter, Millis(1_000));
    m.handle(Event::TestPrint, Millis(2_000));
    // Inactivity raises "still there?", which waits `still_there` more.
    let almost = 2_000 + (t.inactivity + t.still_there).as_millis() as u64 - 1;
    m.handle(Event::Tick, Millis(almost));
    assert_eq!(m.screen(), Screen::Technician, "a press keeps it open");
    let fx = m.handle(
        Event::Tick,
        Millis(almost + Duration::from_millis(2).as_millis() as u64),
    );
    assert_eq!(m.screen(), Screen::Welcome);
    assert_eq!(names(&fx), ["preview false"]);
}
