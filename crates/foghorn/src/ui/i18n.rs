//! The preference centre's words in English, French, German, Italian and
//! Spanish, chosen by the subscriber's locale (`fr-CA` reads French;
//! anything unknown reads English).

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Words {
    pub lang: &'static str,
    pub title: &'static str,
    /// Followed by the sender's name.
    pub intro: &'static str,
    pub channels: &'static str,
    pub channels_hint: &'static str,
    pub topics: &'static str,
    pub topics_hint: &'static str,
    pub topic: &'static str,
    pub email: &'static str,
    pub sms: &'static str,
    pub voice: &'static str,
    pub whatsapp: &'static str,
    pub critical: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub everything: &'static str,
    pub everything_effect: &'static str,
    pub unsubscribed: &'static str,
    pub marketing_sms: &'static str,
    pub invalid: &'static str,
    pub expired: &'static str,
}

const EN: Words = Words {
    lang: "en",
    title: "Your notification preferences",
    intro: "Choose how we may reach you:",
    channels: "Channels",
    channels_hint: "Untick a channel to receive nothing on it.",
    topics: "Topics",
    topics_hint: "Choose, for each topic, the channels you want it on.",
    topic: "Topic",
    email: "Email",
    sms: "Text messages (SMS)",
    voice: "Phone calls",
    whatsapp: "WhatsApp",
    critical: "Critical safety notices, such as safety recalls, are always sent on every channel you have, whatever you choose here, because they concern your safety.",
    save: "Save my choices",
    saved: "Your choices are saved.",
    everything: "Unsubscribe from everything",
    everything_effect: "You will receive no more messages from us on any channel, except critical safety notices.",
    unsubscribed: "You are unsubscribed from everything. You can tick channels again at any time.",
    marketing_sms: "Ticking text messages for a marketing topic means you agree to receive marketing text messages from us. Message and data rates may apply. Reply STOP to stop.",
    invalid: "This link is not valid.",
    expired: "This link has expired. Use the link in a newer message.",
};

const FR: Words = Words {
    lang: "fr",
    title: "Vos préférences de notification",
    intro: "Choisissez comment nous pouvons vous joindre :",
    channels: "Canaux",
    channels_hint: "Décochez un canal pour ne plus rien y recevoir.",
    topics: "Sujets",
    topics_hint: "Choisissez, pour chaque sujet, les canaux sur lesquels vous le souhaitez.",
    topic: "Sujet",
    email: "E-mail",
    sms: "SMS",
    voice: "Appels téléphoniques",
    whatsapp: "WhatsApp",
    critical: "Les avis de sécurité critiques, comme les rappels de sécurité, vous sont toujours envoyés sur tous vos canaux, quels que soient vos choix ici, car ils concernent votre sécurité.",
    save: "Enregistrer mes choix",
    saved: "Vos choix sont enregistrés.",
    everything: "Me désabonner de tout",
    everything_effect: "Vous ne recevrez plus aucun message de notre part, sur aucun canal, sauf les avis de sécurité critiques.",
    unsubscribed: "Vous êtes désabonné de tout. Vous pouvez recocher des canaux à tout moment.",
    marketing_sms: "En cochant les SMS pour un sujet marketing, vous acceptez de recevoir nos SMS marketing. Des frais de messagerie peuvent s'appliquer. Répondez STOP pour arrêter.",
    invalid: "Ce lien n'est pas valide.",
    expired: "Ce lien a expiré. Utilisez le lien d'un message plus récent.",
};

const DE: Words = Words {
    lang: "de",
    title: "Ihre Benachrichtigungseinstellungen",
    intro: "Wählen Sie, wie wir Sie erreichen dürfen:",
    channels: "Kanäle",
    channels_hint: "Entfernen Sie das Häkchen bei einem Kanal, um darüber nichts mehr zu erhalten.",
    topics: "Themen",
    topics_hint: "Wählen Sie für jedes Thema die Kanäle, über die Sie es erhalten möchten.",
    topic: "Thema",
    email: "E-Mail",
    sms: "Textnachrichten (SMS)",
    voice: "Anrufe",
    whatsapp: "WhatsApp",
    critical: "Kritische Sicherheitshinweise, etwa Sicherheitsrückrufe, senden wir immer über alle Ihre Kanäle, unabhängig von Ihrer Auswahl hier, denn sie betreffen Ihre Sicherheit.",
    save: "Auswahl speichern",
    saved: "Ihre Auswahl ist gespeichert.",
    everything: "Von allem abmelden",
    everything_effect: "Sie erhalten von uns keine Nachrichten mehr, auf keinem Kanal, außer kritischen Sicherheitshinweisen.",
    unsubscribed: "Sie sind von allem abgemeldet. Sie können Kanäle jederzeit wieder auswählen.",
    marketing_sms: "Wenn Sie SMS für ein Marketing-Thema auswählen, stimmen Sie dem Erhalt von Marketing-SMS von uns zu. Es können Gebühren anfallen. Antworten Sie STOP, um sie zu beenden.",
    invalid: "Dieser Link ist ungültig.",
    expired: "Dieser Link ist abgelaufen. Verwenden Sie den Link aus einer neueren Nachricht.",
};

const IT: Words = Words {
    lang: "it",
    title: "Le tue preferenze di notifica",
    intro: "Scegli come possiamo contattarti:",
    channels: "Canali",
    channels_hint: "Togli la spunta da un canale per non ricevere più nulla su di esso.",
    topics: "Argomenti",
    topics_hint: "Scegli, per ogni argomento, i canali su cui desideri riceverlo.",
    topic: "Argomento",
    email: "Email",
    sms: "SMS",
    voice: "Telefonate",
    whatsapp: "WhatsApp",
    critical: "Gli avvisi di sicurezza critici, come i richiami di sicurezza, ti vengono sempre inviati su tutti i tuoi canali, qualunque sia la tua scelta qui, perché riguardano la tua sicurezza.",
    save: "Salva le mie scelte",
    saved: "Le tue scelte sono state salvate.",
    everything: "Annulla l'iscrizione a tutto",
    everything_effect: "Non riceverai più alcun messaggio da noi, su nessun canale, tranne gli avvisi di sicurezza critici.",
    unsubscribed: "Hai annullato l'iscrizione a tutto. Puoi riattivare i canali in qualsiasi momento.",
    marketing_sms: "Spuntando gli SMS per un argomento di marketing accetti di ricevere SMS di marketing da parte nostra. Potrebbero essere applicati costi. Rispondi STOP per interrompere.",
    invalid: "Questo link non è valido.",
    expired: "Questo link è scaduto. Usa il link di un messaggio più recente.",
};

const ES: Words = Words {
    lang: "es",
    title: "Tus preferencias de notificación",
    intro: "Elige cómo podemos contactarte:",
    channels: "Canales",
    channels_hint: "Desmarca un canal para no recibir nada por él.",
    topics: "Temas",
    topics_hint: "Elige, para cada tema, los canales por los que quieres recibirlo.",
    topic: "Tema",
    email: "Correo electrónico",
    sms: "Mensajes de texto (SMS)",
    voice: "Llamadas telefónicas",
    whatsapp: "WhatsApp",
    critical: "Los avisos de seguridad críticos, como las llamadas a revisión por seguridad, se envían siempre por todos tus canales, elijas lo que elijas aquí, porque afectan a tu seguridad.",
    save: "Guardar mis preferencias",
    saved: "Tus preferencias se han guardado.",
    everything: "Darme de baja de todo",
    everything_effect: "No recibirás más mensajes nuestros por ningún canal, salvo los avisos de seguridad críticos.",
    unsubscribed: "Te has dado de baja de todo. Puedes volver a marcar canales cuando quieras.",
    marketing_sms: "Al marcar los SMS para un tema de marketing aceptas recibir nuestros SMS de marketing. Pueden aplicarse tarifas. Responde STOP para dejar de recibirlos.",
    invalid: "Este enlace no es válido.",
    expired: "Este enlace ha caducado. Usa el enlace de un mensaje más reciente.",
};

/// The words for `locale` (a BCP 47 tag such as `de-AT`).
pub fn words(locale: Option<&str>) -> &'static Words {
    let lang = locale
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase);
    match lang.as_deref() {
        Some("fr") => &FR,
        Some("de") => &DE,
        Some("it") => &IT,
        Some("es") => &ES,
        _ => &EN,
    }
}

impl Words {
    /// The name of a person channel.
    pub fn channel(&self, c: foghorn_core::Channel) -> &'static str {
        match c {
            foghorn_core::Channel::Sms => self.sms,
            foghorn_core::Channel::Voice => self.voice,
            foghorn_core::Channel::Whatsapp => self.whatsapp,
            _ => self.email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_pick_their_language_and_unknown_ones_read_english() {
        assert_eq!(words(Some("fr-CA")).lang, "fr");
        assert_eq!(words(Some("de_AT")).lang, "de");
        assert_eq!(words(Some("IT")).lang, "it");
        assert_eq!(words(Some("es-MX")).lang, "es");
        assert_eq!(words(Some("nl")).lang, "en");
        assert_eq!(words(None).lang, "en");
        // Every language says every thing in its own words.
        for w in [&FR, &DE, &IT, &ES] {
            assert_ne!(w.title, EN.title);
            assert_ne!(w.critical, EN.critical);
            assert_ne!(w.everything, EN.everything);
        }
    }
}
