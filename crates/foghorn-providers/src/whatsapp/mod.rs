//! WhatsApp providers. Meta's Cloud API is the one there is so far
//! (`meta`); every WhatsApp send goes to a phone number's `wa_id`.

pub mod meta;
