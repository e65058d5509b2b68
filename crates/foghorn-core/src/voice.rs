//! A call Foghorn places and then serves itself: what the person did on
//! the call (a key pressed, a machine answering), and the scene to play
//! next, which each provider writes in its own markup (TwiML, BXML).

/// What the provider's request to the call's page says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallInput {
    /// The key pressed, when the request answers a prompt.
    pub digits: Option<String>,
    /// Answering-machine detection heard a machine (`AnsweredBy=machine_end_beep` …).
    pub machine: bool,
    /// How many times the script has been played already (the page's own
    /// `turn` query parameter, which the signature covers).
    pub turn: u32,
    /// The provider's call id.
    pub call_id: Option<String>,
}

/// What to play next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene<'a> {
    /// The notice, then a prompt for one key whose answer comes back to
    /// the page with `turn` = this one's + 1.
    Script { text: &'a str, turn: u32 },
    /// A machine answered: the notice once, no prompt.
    Voicemail { text: &'a str },
    /// The person pressed 1.
    Acknowledged,
    /// No answer after the repeat, or the call is over.
    Goodbye,
}

/// One page of a call: the scene, in the person's language, and the
/// page's public URL (the prompt's answer goes back to it).
#[derive(Debug, Clone)]
pub struct CallPage<'a> {
    pub scene: Scene<'a>,
    pub language: &'static Language,
    pub url: &'a str,
}

/// A language calls are read in: its BCP 47 tag for the speech engine,
/// the Twilio voice that reads it, and the fixed sentences of a call.
#[derive(Debug)]
pub struct Language {
    pub tag: &'static str,
    /// Amazon Polly voices through Twilio (`Polly.Joanna`); Twilio's
    /// `<Say>` documentation lists them per language.
    pub twilio_voice: &'static str,
    /// Bandwidth's `<SpeakSentence voice=…>` names (its speakSentence
    /// page lists them per locale; a voice overrides the locale).
    pub bandwidth_voice: &'static str,
    pub prompt: &'static str,
    pub thanks: &'static str,
    pub goodbye: &'static str,
}

const LANGUAGES: [Language; 5] = [
    Language {
        tag: "en-US",
        twilio_voice: "Polly.Joanna",
        bandwidth_voice: "julie",
        prompt: "Press 1 to confirm you have received this notice. Press 2 to hear it again.",
        thanks: "Thank you. Your confirmation has been recorded. Goodbye.",
        goodbye: "We did not receive a confirmation. We will try to reach you again. Goodbye.",
    },
    Language {
        tag: "fr-FR",
        twilio_voice: "Polly.Lea",
        bandwidth_voice: "jolie",
        prompt: "Appuyez sur 1 pour confirmer la réception de cet avis. Appuyez sur 2 pour l'entendre à nouveau.",
        thanks: "Merci. Votre confirmation a été enregistrée. Au revoir.",
        goodbye: "Nous n'avons pas reçu de confirmation. Nous essaierons de vous joindre à nouveau. Au revoir.",
    },
    Language {
        tag: "de-DE",
        twilio_voice: "Polly.Vicki",
        bandwidth_voice: "katrin",
        prompt: "Drücken Sie 1, um den Erhalt dieser Mitteilung zu bestätigen. Drücken Sie 2, um sie noch einmal zu hören.",
        thanks: "Vielen Dank. Ihre Bestätigung wurde gespeichert. Auf Wiederhören.",
        goodbye: "Wir haben keine Bestätigung erhalten. Wir versuchen es später erneut. Auf Wiederhören.",
    },
    Language {
        tag: "it-IT",
        twilio_voice: "Polly.Bianca",
        bandwidth_voice: "paola",
        prompt: "Premi 1 per confermare di aver ricevuto questo avviso. Premi 2 per riascoltarlo.",
        thanks: "Grazie. La tua conferma è stata registrata. Arrivederci.",
        goodbye: "Non abbiamo ricevuto una conferma. Proveremo a contattarti di nuovo. Arrivederci.",
    },
    Language {
        tag: "es-ES",
        twilio_voice: "Polly.Lucia",
        bandwidth_voice: "esperanza",
        prompt: "Pulse 1 para confirmar que ha recibido este aviso. Pulse 2 para escucharlo de nuevo.",
        thanks: "Gracias. Su confirmación ha quedado registrada. Adiós.",
        goodbye: "No hemos recibido ninguna confirmación. Intentaremos contactarle de nuevo. Adiós.",
    },
];

/// The language for a person's locale (`fr`, `fr-CA`, `de_DE`); English
/// for anything else.
pub fn language(locale: Option<&str>) -> &'static Language {
    let primary = locale
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    LANGUAGES
        .iter()
        .find(|l| l.tag[..2] == primary)
        .unwrap_or(&LANGUAGES[0])
}

/// What the page does with what the person did: 1 acknowledges, 2 plays
/// the notice again, anything else (or silence) plays it once more and
/// then says goodbye; a machine gets the voicemail.
pub fn next_scene<'a>(input: &CallInput, text: &'a str) -> Scene<'a> {
    if input.machine {
        return Scene::Voicemail { text };
    }
    match input.digits.as_deref() {
        Some("1") => Scene::Acknowledged,
        Some("2") => Scene::Script {
            text,
            turn: input.turn,
        },
        _ if input.turn <= 1 => Scene::Script {
            text,
            turn: input.turn,
        },
        _ => Scene::Goodbye,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_acknowledges_two_repeats_silence_repeats_once() {
        let input = |digits: Option<&str>, turn| CallInput {
            digits: digits.map(str::to_string),
            turn,
            ..CallInput::default()
        };
        let t = "notice";
        assert_eq!(
            next_scene(&input(None, 0), t),
            Scene::Script { text: t, turn: 0 }
        );
        assert_eq!(next_scene(&input(Some("1"), 1), t), Scene::Acknowledged);
        assert_eq!(
            next_scene(&input(Some("2"), 5), t),
            Scene::Script { text: t, turn: 5 }
        );
        assert_eq!(
            next_scene(&input(None, 1), t),
            Scene::Script { text: t, turn: 1 }
        );
        assert_eq!(next_scene(&input(Some("7"), 2), t), Scene::Goodbye);
        assert_eq!(next_scene(&input(None, 2), t), Scene::Goodbye);
        let machine = CallInput {
            machine: true,
            digits: Some("1".into()),
            ..CallInput::default()
        };
        assert_eq!(next_scene(&machine, t), Scene::Voicemail { text: t });
        assert_eq!(language(Some("fr-CA")).tag, "fr-FR");
        assert_eq!(language(Some("de_DE")).tag, "de-DE");
        assert_eq!(language(Some("nl")).tag, "en-US");
        assert_eq!(language(None).tag, "en-US");
    }
}
