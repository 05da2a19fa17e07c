//! The emails, in French like the CRM: a plain-text and an HTML part each, links to the web app
//! under `web.public_url`. Everything shown comes from the database at send time (the outbox
//! holds references only).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::transport::SendError;

/// Items listed per section of a digest; the rest are counted, with a link to the inbox.
pub const DIGEST_MAX_ITEMS: usize = 50;

pub struct Recipient {
    pub email: String,
    pub name: String,
    pub tz: Tz,
}

/// One follow-up as an email shows it.
#[derive(Debug, Clone)]
pub struct Item {
    pub interaction_id: i64,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub person_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `29 mars 2026`.
pub fn french_date(date: NaiveDate) -> String {
    let month = MONTHS
        .get(date.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", date.day(), date.year())
}

/// `29 mars 2026 à 08:00`, in `tz`.
pub fn french_datetime(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format!(
        "{} à {}",
        french_date(local.date_naive()),
        local.format("%H:%M")
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the web app opens one interaction.
pub fn interaction_link(public_url: &str, id: i64) -> String {
    format!("{public_url}/dashboard/inbox?interaction={id}")
}

/// The signed-in user's overdue follow-ups in the web app.
pub fn inbox_link(public_url: &str) -> String {
    format!("{public_url}/dashboard/inbox?assignee=me&due=overdue")
}

fn html_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family: sans-serif; color: #1f2933\">\n{body}\n\
         <p style=\"color: #6b7280; font-size: 12px\">Relance · vos préférences d'email se règlent dans l'application.</p>\n\
         </body></html>\n"
    )
}

/// `Relance en retard : <title>`.
pub fn overdue(recipient: &Recipient, item: &Item, public_url: &str) -> Rendered {
    let link = interaction_link(public_url, item.interaction_id);
    let due = item
        .due_at
        .map(|at| format!(" était prévue le {}", french_datetime(at, recipient.tz)))
        .unwrap_or_else(|| " est en retard".into());
    let person = item
        .person_name
        .as_deref()
        .map(|name| format!(" ({name})"))
        .unwrap_or_default();
    let text = format!(
        "Bonjour {name},\n\nLa relance « {title} »{person}{due}.\n\nOuvrir la relance : {link}\n",
        name = recipient.name,
        title = item.title,
    );
    let html = html_page(&format!(
        "<p>Bonjour {name},</p>\n<p>La relance « <strong>{title}</strong> »{person}{due}.</p>\n\
         <p><a href=\"{link}\">Ouvrir la relance</a></p>",
        name = escape(&recipient.name),
        title = escape(&item.title),
        person = escape(&person),
        due = escape(&due),
        link = escape(&link),
    ));
    Rendered {
        subject: format!("Relance en retard : {}", item.title),
        text,
        html,
    }
}

/// A manager's email for a hot lead its assignee did not touch in time (`sla_breached`).
pub fn sla_breached(
    recipient: &Recipient,
    item: &Item,
    assignee: &str,
    public_url: &str,
) -> Rendered {
    let link = interaction_link(public_url, item.interaction_id);
    let due = item
        .due_at
        .map(|at| format!(" avant le {}", french_datetime(at, recipient.tz)))
        .unwrap_or_default();
    let text = format!(
        "Bonjour {name},\n\nLe lead chaud « {title} » n'a pas été pris en charge par {assignee}{due}.\n\nOuvrir la relance : {link}\n",
        name = recipient.name,
        title = item.title,
    );
    let html = html_page(&format!(
        "<p>Bonjour {name},</p>\n<p>Le lead chaud « <strong>{title}</strong> » n'a pas été pris en charge par {assignee}{due}.</p>\n\
         <p><a href=\"{link}\">Ouvrir la relance</a></p>",
        name = escape(&recipient.name),
        title = escape(&item.title),
        assignee = escape(assignee),
        due = escape(&due),
        link = escape(&link),
    ));
    Rendered {
        subject: format!("Lead chaud non traité à temps : {}", item.title),
        text,
        html,
    }
}

fn section(
    heading: &str,
    items: &[Item],
    tz: Tz,
    public_url: &str,
    text: &mut String,
    html: &mut String,
) {
    if items.is_empty() {
        return;
    }
    text.push_str(&format!("{heading} ({}) :\n", items.len()));
    html.push_str(&format!(
        "<h2>{} ({})</h2>\n<ul>\n",
        escape(heading),
        items.len()
    ));
    for item in items.iter().take(DIGEST_MAX_ITEMS) {
        let link = interaction_link(public_url, item.interaction_id);
        let when = item
            .due_at
            .map(|at| french_datetime(at, tz))
            .unwrap_or_default();
        let person = item
            .person_name
            .as_deref()
            .map(|name| format!(" — {name}"))
            .unwrap_or_default();
        text.push_str(&format!("- {when} : {}{person}\n  {link}\n", item.title));
        html.push_str(&format!(
            "<li>{} : <a href=\"{}\">{}</a>{}</li>\n",
            escape(&when),
            escape(&link),
            escape(&item.title),
            escape(&person)
        ));
    }
    if items.len() > DIGEST_MAX_ITEMS {
        let more = items.len() - DIGEST_MAX_ITEMS;
        text.push_str(&format!("… et {more} de plus.\n"));
        html.push_str(&format!("<li>… et {more} de plus.</li>\n"));
    }
    text.push('\n');
    html.push_str("</ul>\n");
}

/// `Vos relances du <date>`: the overdue follow-ups, then today's.
pub fn digest(
    recipient: &Recipient,
    date: NaiveDate,
    overdue: &[Item],
    today: &[Item],
    public_url: &str,
) -> Rendered {
    let day = french_date(date);
    let mut text = format!("Bonjour {},\n\nVos relances du {day}.\n\n", recipient.name);
    let mut html = format!(
        "<p>Bonjour {},</p>\n<p>Vos relances du {}.</p>\n",
        escape(&recipient.name),
        escape(&day)
    );
    section(
        "En retard",
        overdue,
        recipient.tz,
        public_url,
        &mut text,
        &mut html,
    );
    section(
        "Aujourd'hui",
        today,
        recipient.tz,
        public_url,
        &mut text,
        &mut html,
    );
    let inbox = inbox_link(public_url);
    text.push_str(&format!("Ouvrir la boîte de relances : {inbox}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">Ouvrir la boîte de relances</a></p>",
        escape(&inbox)
    ));
    Rendered {
        subject: format!("Vos relances du {day}"),
        text,
        html: html_page(&html),
    }
}

/// The message: `multipart/alternative` (text, then HTML), with a stable `Message-ID` so a
/// resend after a crash is recognisably the same message.
pub fn message(
    from: &Mailbox,
    recipient: &Recipient,
    rendered: Rendered,
    message_id: String,
) -> Result<Message, SendError> {
    let to = Mailbox::new(
        Some(recipient.name.clone()),
        recipient
            .email
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(rendered.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(rendered.html),
                ),
        )
        .map_err(|e| SendError::Permanent(format!("message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> Recipient {
        Recipient {
            email: "alice@relance.test".into(),
            name: "Alice Martin".into(),
            tz: "Europe/Paris".parse().unwrap(),
        }
    }

    #[test]
    fn an_overdue_email_names_the_follow_up_and_links_to_it() {
        let item = Item {
            interaction_id: 42,
            title: "Rappeler <Sophie> & co".into(),
            due_at: Some("2026-03-29T06:30:00Z".parse().unwrap()),
            person_name: Some("Sophie Lefèvre".into()),
        };
        let mail = overdue(&recipient(), &item, "https://crm.example.com");
        assert_eq!(mail.subject, "Relance en retard : Rappeler <Sophie> & co");
        assert!(mail.text.contains("29 mars 2026 à 08:30"), "{}", mail.text);
        assert!(mail
            .text
            .contains("https://crm.example.com/dashboard/inbox?interaction=42"));
        assert!(mail.html.contains("Rappeler &lt;Sophie&gt; &amp; co"));
        assert!(!mail.html.contains("<Sophie>"));
    }

    #[test]
    fn a_digest_lists_both_sections_and_caps_them() {
        let items: Vec<Item> = (1..=DIGEST_MAX_ITEMS as i64 + 3)
            .map(|id| Item {
                interaction_id: id,
                title: format!("Relance {id}"),
                due_at: None,
                person_name: None,
            })
            .collect();
        let date = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let mail = digest(&recipient(), date, &items, &items[..1], "http://x.test");
        assert_eq!(mail.subject, "Vos relances du 25 octobre 2026");
        assert!(mail.text.contains("En retard (53) :"));
        assert!(mail.text.contains("… et 3 de plus."));
        assert!(mail.text.contains("Aujourd'hui (1) :"));
        assert!(mail.html.contains("Aujourd&#39;hui (1)"));
    }
}
