//! The key table: every key the dashboard knows, the [`Action`] it maps to, and the words the
//! help overlay and the status line show for it. One table, so help can never drift from keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Everything a key can ask the dashboard to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Select the experiment above.
    SelectPrevious,
    /// Select the experiment below.
    SelectNext,
    /// Scroll the source view left.
    ScrollLeft,
    /// Scroll the source view right.
    ScrollRight,
    /// Start the selected experiment, or stop the running one.
    StartStop,
    /// Switch the running experiment to its next variant.
    SwitchVariant,
    /// Alternate the variants automatically so both traces build up.
    ToggleCompare,
    /// Pause or resume the experiment.
    TogglePause,
    /// Freeze the charts; the experiment keeps running.
    ToggleFreeze,
    /// Show each variant's first operation, cold, in the numbers table (or the steady state).
    ToggleFirstOp,
    /// Widen the time window.
    WiderWindow,
    /// Narrow the time window.
    NarrowerWindow,
    /// Halve the workload size.
    SmallerWorkload,
    /// Double the workload size.
    LargerWorkload,
    /// Clear the charts.
    ResetCharts,
    /// Set the memory budget (opens a prompt).
    SetBudget,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Show or hide the variants' source side by side.
    ToggleSource,
    /// Show or hide the layout inspector.
    ToggleLayout,
    /// Show or hide the running variant's allocation sites.
    ToggleSites,
    /// Write the comparison as an SVG chart.
    Export,
    /// Start or end the guided tour.
    ToggleTour,
    /// The tour's next step.
    TourNext,
    /// The tour's previous step.
    TourPrevious,
    /// `attach`: show or hide the growing sites (the lines whose live bytes grow).
    ToggleGrowing,
    /// `attach`: show or hide the allocation sizes beside the growing sites.
    ToggleSizes,
    /// Close an overlay, or quit from the main screen.
    Back,
    /// Quit.
    Quit,
}

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Ctrl and a character.
    Ctrl(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
}

impl Key {
    /// How the help shows it.
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
        }
    }

    fn matches(self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        match (self, event.code) {
            (Key::Ctrl(c), KeyCode::Char(k)) => ctrl && k.eq_ignore_ascii_case(&c),
            (Key::Char(c), KeyCode::Char(k)) => !ctrl && k == c,
            (Key::Up, KeyCode::Up)
            | (Key::Down, KeyCode::Down)
            | (Key::Left, KeyCode::Left)
            | (Key::Right, KeyCode::Right)
            | (Key::Enter, KeyCode::Enter)
            | (Key::Esc, KeyCode::Esc) => true,
            _ => false,
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that do it.
    pub keys: &'static [Key],
    /// What it does.
    pub action: Action,
    /// One line for the help overlay.
    pub help: &'static str,
    /// The word on the status line, for the main keys.
    pub status: Option<&'static str>,
}

/// The key table.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        action: Action::SelectPrevious,
        help: "select the experiment above (scroll, in the source and layout views)",
        status: None,
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        action: Action::SelectNext,
        help: "select the experiment below (scroll, in the source and layout views)",
        status: None,
    },
    Binding {
        keys: &[Key::Enter],
        action: Action::StartStop,
        help: "start the selected experiment, or stop the running one",
        status: Some("start/stop"),
    },
    Binding {
        keys: &[Key::Char(' '), Key::Char('v')],
        action: Action::SwitchVariant,
        help: "switch variant (naive → optimized → crate); the old trace stays as a ghost",
        status: Some("variant"),
    },
    Binding {
        keys: &[Key::Char('c')],
        action: Action::ToggleCompare,
        help: "compare mode: alternate the variants every 5 s so both traces build up",
        status: None,
    },
    Binding {
        keys: &[Key::Char('p')],
        action: Action::TogglePause,
        help: "pause or resume the experiment",
        status: None,
    },
    Binding {
        keys: &[Key::Char('f')],
        action: Action::ToggleFreeze,
        help: "freeze the charts (the experiment keeps running)",
        status: None,
    },
    Binding {
        keys: &[Key::Char('o')],
        action: Action::ToggleFirstOp,
        help: "first operation: the table shows each variant's first call, cold (o again: steady state)",
        status: None,
    },
    Binding {
        keys: &[Key::Char('+'), Key::Char('=')],
        action: Action::WiderWindow,
        help: "widen the time window (up to 10 min; 60 s at start)",
        status: None,
    },
    Binding {
        keys: &[Key::Char('-')],
        action: Action::NarrowerWindow,
        help: "narrow the time window (down to 10 s)",
        status: None,
    },
    Binding {
        keys: &[Key::Char('[')],
        action: Action::SmallerWorkload,
        help: "halve the workload size",
        status: None,
    },
    Binding {
        keys: &[Key::Char(']')],
        action: Action::LargerWorkload,
        help: "double the workload size",
        status: None,
    },
    Binding {
        keys: &[Key::Char('r')],
        action: Action::ResetCharts,
        help: "reset the charts",
        status: None,
    },
    Binding {
        keys: &[Key::Char('b')],
        action: Action::SetBudget,
        help: "memory budget, in a prompt (64MiB, 1GiB; empty for none): past it a variant is stopped",
        status: Some("budget"),
    },
    Binding {
        keys: &[Key::Char('s')],
        action: Action::ToggleSource,
        help: "source: the variants' code side by side, each line's measured allocs/op in the gutter",
        status: None,
    },
    Binding {
        keys: &[Key::Left],
        action: Action::ScrollLeft,
        help: "scroll the source view left",
        status: None,
    },
    Binding {
        keys: &[Key::Right],
        action: Action::ScrollRight,
        help: "scroll the source view right, to the end of long lines",
        status: None,
    },
    Binding {
        keys: &[Key::Char('a')],
        action: Action::ToggleSites,
        help: "allocation sites: the lines the running variant allocates on, measured, and the last one's",
        status: None,
    },
    Binding {
        keys: &[Key::Char('l')],
        action: Action::ToggleLayout,
        help: "layout inspector: sizes, field offsets and padding of the types compared",
        status: None,
    },
    Binding {
        keys: &[Key::Char('e')],
        action: Action::Export,
        help: "export the comparison and this session's charts as heaplab-ID-TIME.svg",
        status: None,
    },
    Binding {
        keys: &[Key::Char('t')],
        action: Action::ToggleTour,
        help: "guided tour of the chapter from the selected experiment (t again ends it)",
        status: Some("tour"),
    },
    Binding {
        keys: &[Key::Char('n')],
        action: Action::TourNext,
        help: "tour: next step",
        status: None,
    },
    Binding {
        keys: &[Key::Char('N')],
        action: Action::TourPrevious,
        help: "tour: previous step",
        status: None,
    },
    Binding {
        keys: &[Key::Char('?')],
        action: Action::ToggleHelp,
        help: "help: every key, then what each figure on screen means",
        status: Some("help"),
    },
    Binding {
        keys: &[Key::Esc],
        action: Action::Back,
        help: "close the open view or overlay (never quits: q does)",
        status: None,
    },
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        action: Action::Quit,
        help: "quit",
        status: Some("quit"),
    },
];

/// The keys only `heaplab attach`'s view knows, on top of [`BINDINGS`] (the dashboard never
/// sees them, so its help and the README's table leave them out; `docs/attach.md` lists them).
pub const ATTACH_BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Key::Char('g')],
        action: Action::ToggleGrowing,
        help: "growing sites: the program's lines ranked by how much their live bytes grew",
        status: None,
    },
    Binding {
        keys: &[Key::Char('h')],
        action: Action::ToggleSizes,
        help: "allocation sizes (power-of-two buckets): the process's and the selected line's",
        status: None,
    },
];

/// The key table as a Markdown table, one row per binding with the help overlay's words: the
/// README's table is this text (a test holds it to it), so README, help and keys agree.
#[must_use]
pub fn markdown_table() -> String {
    use std::fmt::Write as _;
    let mut table = String::from("| key | does |\n| --- | --- |\n");
    for binding in BINDINGS {
        let keys: Vec<String> = binding
            .keys
            .iter()
            .map(|k| format!("`{}`", k.label()))
            .collect();
        let _ = writeln!(table, "| {} | {} |", keys.join(", "), binding.help);
    }
    table
}

/// The action a key press asks for, if any. Releases and repeats of a release are ignored.
#[must_use]
pub fn action_for(event: &KeyEvent) -> Option<Action> {
    action_in(BINDINGS, event)
}

fn action_in(table: &[Binding], event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    table
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.action)
}

/// The action a key press asks for in `heaplab attach`'s view: its own keys, then the
/// dashboard's.
#[must_use]
pub fn attach_action_for(event: &KeyEvent) -> Option<Action> {
    action_in(ATTACH_BINDINGS, event).or_else(|| action_for(event))
}

/// The key presses a terminal key event stands for. A terminal sends Alt+x as Esc followed by
/// x, so crossterm reads Esc and a key typed quickly after it (closing the help and opening the
/// source view, say) as one Alt+x press. No binding uses Alt, so an Alt press is unfolded back
/// into the two keys the terminal sent: Esc, then the key without Alt.
pub fn unfold_alt(event: KeyEvent) -> impl Iterator<Item = KeyEvent> {
    let alt = event.modifiers.contains(KeyModifiers::ALT);
    let esc = alt.then(|| KeyEvent::new_with_kind(KeyCode::Esc, KeyModifiers::NONE, event.kind));
    let key = KeyEvent {
        modifiers: event.modifiers.difference(KeyModifiers::ALT),
        ..event
    };
    esc.into_iter().chain(std::iter::once(key))
}

/// The keys of a binding joined for display: `↑/k`.
#[must_use]
pub fn keys_label(binding: &Binding) -> String {
    binding
        .keys
        .iter()
        .map(|k| k.label())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_documented_key_maps_to_its_action() {
        let none = KeyModifiers::NONE;
        for (code, mods, action) in [
            (KeyCode::Up, none, Action::SelectPrevious),
            (KeyCode::Char('k'), none, Action::SelectPrevious),
            (KeyCode::Down, none, Action::SelectNext),
            (KeyCode::Char('j'), none, Action::SelectNext),
            (KeyCode::Left, none, Action::ScrollLeft),
            (KeyCode::Right, none, Action::ScrollRight),
            (KeyCode::Enter, none, Action::StartStop),
            (KeyCode::Char(' '), none, Action::SwitchVariant),
            (KeyCode::Char('v'), none, Action::SwitchVariant),
            (KeyCode::Char('c'), none, Action::ToggleCompare),
            (KeyCode::Char('p'), none, Action::TogglePause),
            (KeyCode::Char('f'), none, Action::ToggleFreeze),
            (KeyCode::Char('o'), none, Action::ToggleFirstOp),
            (KeyCode::Char('+'), KeyModifiers::SHIFT, Action::WiderWindow),
            (KeyCode::Char('-'), none, Action::NarrowerWindow),
            (KeyCode::Char('['), none, Action::SmallerWorkload),
            (KeyCode::Char(']'), none, Action::LargerWorkload),
            (KeyCode::Char('r'), none, Action::ResetCharts),
            (KeyCode::Char('?'), KeyModifiers::SHIFT, Action::ToggleHelp),
            (KeyCode::Char('s'), none, Action::ToggleSource),
            (KeyCode::Char('l'), none, Action::ToggleLayout),
            (KeyCode::Char('e'), none, Action::Export),
            (KeyCode::Char('t'), none, Action::ToggleTour),
            (KeyCode::Char('n'), none, Action::TourNext),
            (
                KeyCode::Char('N'),
                KeyModifiers::SHIFT,
                Action::TourPrevious,
            ),
            (KeyCode::Esc, none, Action::Back),
            (KeyCode::Char('q'), none, Action::Quit),
            (KeyCode::Char('c'), KeyModifiers::CONTROL, Action::Quit),
        ] {
            assert_eq!(
                action_for(&press(code, mods)),
                Some(action),
                "{code:?} {mods:?}"
            );
        }
        assert_eq!(action_for(&press(KeyCode::Char('x'), none)), None);
    }

    #[test]
    fn attachs_own_keys_are_its_alone() {
        let none = KeyModifiers::NONE;
        let g = press(KeyCode::Char('g'), none);
        assert_eq!(attach_action_for(&g), Some(Action::ToggleGrowing));
        assert_eq!(
            attach_action_for(&press(KeyCode::Char('h'), none)),
            Some(Action::ToggleSizes)
        );
        assert_eq!(action_for(&g), None, "the dashboard knows no g");
        assert_eq!(
            attach_action_for(&press(KeyCode::Char('f'), none)),
            Some(Action::ToggleFreeze)
        );
    }

    #[test]
    fn alt_and_a_key_is_esc_then_the_key() {
        let alt_s = press(KeyCode::Char('s'), KeyModifiers::ALT);
        let actions: Vec<_> = unfold_alt(alt_s).map(|k| action_for(&k)).collect();
        assert_eq!(actions, [Some(Action::Back), Some(Action::ToggleSource)]);
        // Alt with Ctrl: Esc, then Ctrl-C.
        let ctrl_alt_c = press(
            KeyCode::Char('c'),
            KeyModifiers::ALT | KeyModifiers::CONTROL,
        );
        let actions: Vec<_> = unfold_alt(ctrl_alt_c).map(|k| action_for(&k)).collect();
        assert_eq!(actions, [Some(Action::Back), Some(Action::Quit)]);
        // Anything without Alt is one key, unchanged.
        let s = press(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(unfold_alt(s).collect::<Vec<_>>(), [s]);
    }

    #[test]
    fn no_key_is_bound_twice() {
        let all: Vec<Key> = BINDINGS
            .iter()
            .chain(ATTACH_BINDINGS)
            .flat_map(|b| b.keys.iter().copied())
            .collect();
        for (i, key) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(key), "{key:?} bound twice");
        }
    }
}
