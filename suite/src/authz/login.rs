//! How the user agent gets through an authorization server's login and consent: the login modes, the
//! login script (TOML, one `[[step]]` per kind of page) and HTML form extraction.
//!
//! A script step says which page it is for (`when`, a substring of the page), which `<form>` to use and what
//! to type into it; every other control keeps the value the page gave it (hidden fields such as CSRF tokens).
//!
//! ```toml
//! [[step]]
//! when = 'name="password"'
//! form = 0                     # or form_id = "login"
//! fields = { username = "alice", password = "alice-password" }
//! submit = "login"             # the button to press: matched by its name, else by its value
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// How the user agent gets past the login and consent pages.
#[derive(Debug, Clone)]
pub enum LoginMode {
    /// The authorization server answers with a redirect straight away (no pages); a page ends the walk,
    /// except a consent page ([`crate::authz::agent::consent`]), which is approved.
    Auto,
    /// Pages are handled by a login script.
    Form(LoginScript),
    /// A person completes the login in a browser; the agent waits for the callback listener.
    Manual { timeout: Duration },
}

/// A login script: the steps are tried in order on every page; the first that applies is used. A step may be
/// used any number of times (the consent page comes back on every authorization).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginScript {
    #[serde(rename = "step", default)]
    pub steps: Vec<LoginStep>,
}

/// One kind of page and what to do on it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginStep {
    /// A substring the page must contain for the step to apply; `None` applies to every page.
    pub when: Option<String>,
    /// Index of the `<form>` on the page (default 0). Exclusive with `form_id`.
    pub form: Option<usize>,
    /// The `id` of the `<form>` to use. Exclusive with `form`.
    pub form_id: Option<String>,
    /// Values typed into the form, by control name; added when the form has no such control.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The submit button to press, matched by its `name`, else by its `value`; sent as `name=value`.
    /// `None` submits the form without a submitter.
    pub submit: Option<String>,
}

/// Why a login script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoginScriptError {
    #[error("cannot read login script {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid login script{}: {source}", in_path(path))]
    Parse {
        path: Option<PathBuf>,
        source: toml::de::Error,
    },
    #[error("login script{} has no [[step]]", in_path(path))]
    NoSteps { path: Option<PathBuf> },
    #[error(
        "login script{}: step {step} sets both `form` and `form_id`",
        in_path(path)
    )]
    FormAndFormId { path: Option<PathBuf>, step: usize },
}

fn in_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

impl LoginScript {
    /// Parses a script from TOML text.
    pub fn from_toml_str(text: &str) -> Result<LoginScript, LoginScriptError> {
        Self::parse(text, None)
    }

    /// Reads and parses a script file.
    pub fn load(path: &Path) -> Result<LoginScript, LoginScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoginScriptError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, Some(path.to_owned()))
    }

    fn parse(text: &str, path: Option<PathBuf>) -> Result<LoginScript, LoginScriptError> {
        let script: LoginScript = match toml::from_str(text) {
            Ok(s) => s,
            Err(source) => return Err(LoginScriptError::Parse { path, source }),
        };
        if script.steps.is_empty() {
            return Err(LoginScriptError::NoSteps { path });
        }
        if let Some(step) = script
            .steps
            .iter()
            .position(|s| s.form.is_some() && s.form_id.is_some())
        {
            return Err(LoginScriptError::FormAndFormId {
                path,
                step: step + 1,
            });
        }
        Ok(script)
    }

    /// The first step that applies to the page, with its 1-based number.
    pub fn step_for(&self, page: &str) -> Option<(usize, &LoginStep)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.applies_to(page))
            .map(|(i, s)| (i + 1, s))
    }

    /// Values the script types into fields that look secret (`*pass*`, `*secret*`): the agent registers them
    /// so that evidence never shows them.
    pub fn secret_values(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|s| s.fields.iter())
            .filter(|(name, _)| {
                let n = name.to_ascii_lowercase();
                n.contains("pass") || n.contains("secret")
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Why a step could not be applied to the page its `when` matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("the page has no form number {0} (0-based)")]
    NoFormAt(usize),
    #[error("the page has no form with id {0:?}")]
    NoFormWithId(String),
    #[error("the form has no submit button named (or valued) {0:?}")]
    NoSubmit(String),
}

impl LoginStep {
    /// Whether the step is for this page.
    pub fn applies_to(&self, page: &str) -> bool {
        self.when.as_deref().is_none_or(|w| page.contains(w))
    }

    /// Fills the step's form on the page: the form's own values, the step's `fields` over them, then the
    /// submit button.
    pub fn fill(&self, page: &str) -> Result<FilledForm, StepError> {
        let forms = parse_forms(page);
        let form = match (&self.form_id, self.form) {
            (Some(id), _) => forms
                .iter()
                .find(|f| f.id.as_deref() == Some(id.as_str()))
                .ok_or_else(|| StepError::NoFormWithId(id.clone()))?,
            (None, index) => {
                let index = index.unwrap_or(0);
                forms.get(index).ok_or(StepError::NoFormAt(index))?
            }
        };

        let mut fields = form.fields.clone();
        for (name, value) in &self.fields {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.clone(),
                None => fields.push((name.clone(), value.clone())),
            }
        }

        let mut method = form.method;
        let mut action = form.action.clone();
        if let Some(wanted) = &self.submit {
            let button = form
                .submits
                .iter()
                .find(|b| b.name.as_deref() == Some(wanted.as_str()))
                .or_else(|| form.submits.iter().find(|b| b.value == *wanted))
                .ok_or_else(|| StepError::NoSubmit(wanted.clone()))?;
            if let Some(name) = &button.name {
                fields.push((name.clone(), button.value.clone()));
            }
            if let Some(a) = &button.formaction {
                action = a.clone();
            }
            if let Some(m) = button.formmethod {
                method = m;
            }
        }
        Ok(FilledForm {
            method,
            action,
            fields,
        })
    }
}

/// How a form is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMethod {
    /// Fields in the query of the action URL.
    Get,
    /// Fields as an `application/x-www-form-urlencoded` body.
    Post,
}

impl FormMethod {
    fn from_attr(value: &str) -> FormMethod {
        if value.trim().eq_ignore_ascii_case("post") {
            FormMethod::Post
        } else {
            FormMethod::Get
        }
    }
}

/// A submit button of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitButton {
    pub name: Option<String>,
    pub value: String,
    pub formaction: Option<String>,
    pub formmethod: Option<FormMethod>,
}

/// A `<form>` as found on a page: its controls' current values in document order (the successful controls of
/// the HTML form-submission algorithm, without any submitter) and its submit buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlForm {
    pub id: Option<String>,
    /// The `action` attribute as written (empty when absent: the page's own URL).
    pub action: String,
    pub method: FormMethod,
    pub fields: Vec<(String, String)>,
    pub submits: Vec<SubmitButton>,
}

/// A form ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledForm {
    pub method: FormMethod,
    /// As written on the page; the caller resolves it against the page URL (empty: the page URL).
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl FilledForm {
    /// The fields, `application/x-www-form-urlencoded`.
    pub fn encoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.fields.iter())
            .finish()
    }
}

/// Every `<form>` on the page, in document order.
///
/// The page is tokenized (WHATWG tokenizer, `html5gum`) and controls are associated with forms the way an HTML
/// parser does it for parser-inserted elements: through the *form element pointer*. A `<form>` start tag while a
/// form is open is ignored, `</form>` closes the open form whatever else is still open, and a control belongs to
/// the form open where it appears (a control outside any form belongs to none). No DOM is built: a login page
/// needs no more than this, and a tree builder with a CSS engine cost more build time than the rest of the
/// agent.
pub fn parse_forms(page: &str) -> Vec<HtmlForm> {
    use html5gum::{DefaultEmitter, Token, Tokenizer};

    let mut emitter = DefaultEmitter::default();
    // `<textarea>`, `<title>`, `<script>`, `<style>` … switch the tokenizer to their text states, as the tree
    // builder would: a `<form>` written inside a script or a textarea is text, not a form.
    emitter.naively_switch_states(true);
    let mut forms: Vec<HtmlForm> = Vec::new();
    let mut open: Option<usize> = None;
    // The control whose text content is being read: a `<textarea>`, or a `<select>` with its options.
    let mut text_of: Option<Pending> = None;
    // A string reader cannot fail (its error type is `Infallible`): `flatten` drops nothing.
    for token in Tokenizer::new_with_emitter(page, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = lossy(&tag.name);
                let attrs: BTreeMap<String, String> = tag
                    .attributes
                    .iter()
                    .map(|(k, v)| (lossy(k), lossy(v)))
                    .collect();
                match (name.as_str(), &mut text_of) {
                    ("option", Some(Pending::Select { options, .. })) => {
                        options.push(OptionTag {
                            value: attrs.get("value").cloned(),
                            text: String::new(),
                            selected: attrs.contains_key("selected"),
                            disabled: attrs.contains_key("disabled"),
                        });
                        continue;
                    }
                    ("optgroup", Some(Pending::Select { .. })) => continue,
                    _ => {}
                }
                if let Some(pending) = text_of.take() {
                    finish(pending, open, &mut forms);
                }
                match name.as_str() {
                    "form" if open.is_none() => {
                        forms.push(HtmlForm {
                            id: attrs.get("id").cloned(),
                            action: attrs
                                .get("action")
                                .map(|a| a.trim())
                                .unwrap_or_default()
                                .to_owned(),
                            method: FormMethod::from_attr(
                                attrs.get("method").map_or("get", String::as_str),
                            ),
                            fields: Vec::new(),
                            submits: Vec::new(),
                        });
                        open = Some(forms.len() - 1);
                    }
                    "input" | "button" => {
                        if let Some(form) = open.map(|i| &mut forms[i]) {
                            read_control(&name, &attrs, &mut form.fields, &mut form.submits);
                        }
                    }
                    "select" => {
                        text_of = Some(Pending::Select {
                            attrs,
                            options: Vec::new(),
                        })
                    }
                    "textarea" => {
                        text_of = Some(Pending::Textarea {
                            attrs,
                            text: String::new(),
                        })
                    }
                    _ => {}
                }
            }
            Token::String(text) => match &mut text_of {
                Some(Pending::Textarea { text: t, .. }) => t.push_str(&lossy(&text)),
                Some(Pending::Select { options, .. }) => {
                    if let Some(option) = options.last_mut() {
                        option.text.push_str(&lossy(&text));
                    }
                }
                None => {}
            },
            Token::EndTag(tag) => {
                let name = lossy(&tag.name);
                if let ("option" | "optgroup", Some(Pending::Select { .. })) =
                    (name.as_str(), &text_of)
                {
                    continue;
                }
                if let Some(pending) = text_of.take() {
                    finish(pending, open, &mut forms);
                }
                if name == "form" {
                    open = None;
                }
            }
            _ => {}
        }
    }
    if let Some(pending) = text_of.take() {
        finish(pending, open, &mut forms);
    }
    forms
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A control whose value is its text content, read until its end tag.
enum Pending {
    Textarea {
        attrs: BTreeMap<String, String>,
        text: String,
    },
    Select {
        attrs: BTreeMap<String, String>,
        options: Vec<OptionTag>,
    },
}

struct OptionTag {
    value: Option<String>,
    text: String,
    selected: bool,
    disabled: bool,
}

impl OptionTag {
    fn value(&self) -> String {
        self.value
            .clone()
            .unwrap_or_else(|| self.text.trim().to_owned())
    }
}

/// Adds a finished `<textarea>` or `<select>` to the open form, if any.
fn finish(pending: Pending, open: Option<usize>, forms: &mut [HtmlForm]) {
    let Some(form) = open.map(|i| &mut forms[i]) else {
        return;
    };
    let (attrs, value) = match pending {
        Pending::Textarea { attrs, text } => {
            // The tree builder drops one newline right after `<textarea>`.
            let text = text.strip_prefix('\n').map(str::to_owned).unwrap_or(text);
            (attrs, vec![text])
        }
        Pending::Select { attrs, options } => {
            let options: Vec<&OptionTag> = options.iter().filter(|o| !o.disabled).collect();
            let selected: Vec<String> = options
                .iter()
                .filter(|o| o.selected)
                .map(|o| o.value())
                .collect();
            let value = if !selected.is_empty() {
                selected
            } else if attrs.contains_key("multiple") {
                Vec::new()
            } else {
                options.first().map(|o| o.value()).into_iter().collect()
            };
            (attrs, value)
        }
    };
    if attrs.contains_key("disabled") {
        return;
    }
    if let Some(name) = attrs.get("name").filter(|n| !n.is_empty()) {
        form.fields
            .extend(value.into_iter().map(|v| (name.clone(), v)));
    }
}

/// An `<input>` or a `<button>`: a field of the form, one of its submit buttons, or nothing.
fn read_control(
    tag: &str,
    attrs: &BTreeMap<String, String>,
    fields: &mut Vec<(String, String)>,
    submits: &mut Vec<SubmitButton>,
) {
    let attr = |name: &str| attrs.get(name).map(String::as_str);
    if attr("disabled").is_some() {
        return;
    }
    let name = attr("name").filter(|n| !n.is_empty()).map(str::to_owned);
    let value = attr("value").unwrap_or_default().to_owned();
    let kind = attr("type").unwrap_or_default().to_ascii_lowercase();
    let button = |submits: &mut Vec<SubmitButton>| {
        submits.push(SubmitButton {
            name: name.clone(),
            value: value.clone(),
            formaction: attr("formaction").map(|a| a.trim().to_owned()),
            formmethod: attr("formmethod").map(FormMethod::from_attr),
        })
    };
    match tag {
        "button" if kind.is_empty() || kind == "submit" => button(submits),
        "input" => match kind.as_str() {
            "submit" => button(submits),
            "image" | "reset" | "button" | "file" => {}
            "checkbox" | "radio" => {
                if let (Some(name), Some(_)) = (name, attr("checked")) {
                    fields.push((name, attr("value").unwrap_or("on").to_owned()));
                }
            }
            _ => {
                if let Some(name) = name {
                    fields.push((name, value));
                }
            }
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_left_inside_another_by_sloppy_markup_keeps_its_own_controls() {
        // Found by fuzz_login_forms_rendered_forms_parse_back_to_their_fields: the unclosed `<div>` keeps the
        // second form inside the first in the tree; the input is the second form's only.
        let forms = parse_forms(
            r#"<form action="/a"><div></form><form action="/b"><input name="user" value="alice"></form>"#,
        );
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].fields, Vec::<(String, String)>::new());
        assert_eq!(
            forms[1].fields,
            vec![("user".to_owned(), "alice".to_owned())]
        );
    }

    #[test]
    fn a_form_start_tag_inside_an_open_form_is_ignored_as_a_parser_does() {
        let forms = parse_forms(
            r#"<form action="/a"><form action="/b"><input name="user" value="alice"></form>"#,
        );
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].action, "/a");
        assert_eq!(
            forms[0].fields,
            vec![("user".to_owned(), "alice".to_owned())]
        );
    }

    #[test]
    fn markup_inside_a_textarea_or_a_script_is_text() {
        let forms = parse_forms(
            "<script>var f = '<form action=\"/evil\">';</script>\
             <form action=\"/a\"><textarea name=\"note\">\n<form><input name=\"x\"></textarea></form>",
        );
        assert_eq!(forms.len(), 1);
        assert_eq!(
            forms[0].fields,
            vec![("note".to_owned(), "<form><input name=\"x\">".to_owned())]
        );
    }

    #[test]
    fn controls_outside_every_form_belong_to_none() {
        let forms = parse_forms(r#"<input name="q"><form action="/a"></form><input name="z">"#);
        assert_eq!(forms.len(), 1);
        assert!(forms[0].fields.is_empty());
    }

    #[test]
    fn character_references_in_values_are_decoded() {
        let forms = parse_forms(r#"<form><input name="csrf" value="a&amp;b&#x3d;"></form>"#);
        assert_eq!(
            forms[0].fields,
            vec![("csrf".to_owned(), "a&b=".to_owned())]
        );
    }

    const LOGIN_PAGE: &str = r#"<!doctype html><html><body>
        <form id="search" action="/search"><input name="q"></form>
        <form id="login" method="POST" action="/login">
          <input type="hidden" name="csrf" value="tok-1">
          <input name="username" value="">
          <input type="password" name="password">
          <input type="checkbox" name="remember" value="yes" checked>
          <input type="checkbox" name="marketing">
          <input name="off" value="x" disabled>
          <select name="lang"><option value="fr">French</option><option selected>English</option></select>
          <textarea name="note">hi</textarea>
          <button type="submit" name="login" value="1">Sign in</button>
          <button type="submit" name="action" value="cancel" formaction="/cancel">Cancel</button>
        </form></body></html>"#;

    fn step(toml_text: &str) -> LoginStep {
        LoginScript::from_toml_str(toml_text)
            .unwrap()
            .steps
            .remove(0)
    }

    #[test]
    fn the_committed_reference_as_script_parses() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/login/reference-as.toml");
        let script = LoginScript::load(&path).unwrap();
        assert_eq!(script.steps.len(), 2);
        let login = &script.steps[0];
        assert_eq!(login.fields["username"], "alice");
        assert_eq!(login.fields["password"], "alice-password");
        assert_eq!(login.submit.as_deref(), Some("login"));
        assert_eq!(script.steps[1].submit.as_deref(), Some("approve"));
        assert_eq!(script.secret_values(), vec!["alice-password"]);
    }

    #[test]
    fn unknown_fields_in_a_step_are_rejected() {
        let err =
            LoginScript::from_toml_str("[[step]]\nwhen = \"x\"\nbutton = \"go\"\n").unwrap_err();
        assert!(matches!(err, LoginScriptError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("button"), "{err}");
    }

    #[test]
    fn a_script_without_steps_is_rejected() {
        let err = LoginScript::from_toml_str("").unwrap_err();
        assert!(matches!(err, LoginScriptError::NoSteps { .. }), "{err}");
    }

    #[test]
    fn form_and_form_id_together_are_rejected() {
        let err =
            LoginScript::from_toml_str("[[step]]\nform = 0\nform_id = \"login\"\n").unwrap_err();
        assert!(
            matches!(err, LoginScriptError::FormAndFormId { step: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_missing_script_file_names_its_path() {
        let err = LoginScript::load(Path::new("/nonexistent/login.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/login.toml"), "{err}");
    }

    #[test]
    fn the_first_step_whose_text_is_on_the_page_applies() {
        let script = LoginScript::from_toml_str(
            "[[step]]\nwhen = 'name=\"approve\"'\n[[step]]\nwhen = 'name=\"password\"'\n[[step]]\n",
        )
        .unwrap();
        assert_eq!(script.step_for(LOGIN_PAGE).map(|(n, _)| n), Some(2));
        assert_eq!(script.step_for("<p>anything</p>").map(|(n, _)| n), Some(3));
    }

    #[test]
    fn forms_keep_their_controls_values_in_document_order() {
        let forms = parse_forms(LOGIN_PAGE);
        assert_eq!(forms.len(), 2);
        let login = &forms[1];
        assert_eq!(login.id.as_deref(), Some("login"));
        assert_eq!(login.method, FormMethod::Post);
        assert_eq!(login.action, "/login");
        let expected: Vec<(String, String)> = [
            ("csrf", "tok-1"),
            ("username", ""),
            ("password", ""),
            ("remember", "yes"),
            ("lang", "English"),
            ("note", "hi"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(login.fields, expected);
        assert_eq!(login.submits.len(), 2);
    }

    #[test]
    fn filling_overrides_fields_and_adds_the_submit_button() {
        let s = step(
            "[[step]]\nform_id = \"login\"\nfields = { username = \"alice\", password = \"pw\", extra = \"e\" }\nsubmit = \"login\"\n",
        );
        let filled = s.fill(LOGIN_PAGE).unwrap();
        assert_eq!(filled.method, FormMethod::Post);
        assert_eq!(filled.action, "/login");
        assert_eq!(
            filled.encoded(),
            "csrf=tok-1&username=alice&password=pw&remember=yes&lang=English&note=hi&extra=e&login=1"
        );
    }

    #[test]
    fn a_submit_button_can_be_named_by_its_value_and_carries_its_formaction() {
        let s = step("[[step]]\nform = 1\nsubmit = \"cancel\"\n");
        let filled = s.fill(LOGIN_PAGE).unwrap();
        assert_eq!(filled.action, "/cancel");
        assert_eq!(
            filled.fields.last(),
            Some(&("action".to_owned(), "cancel".to_owned()))
        );
    }

    #[test]
    fn a_missing_form_or_button_is_an_error() {
        assert_eq!(
            step("[[step]]\nform = 5\n").fill(LOGIN_PAGE),
            Err(StepError::NoFormAt(5))
        );
        assert_eq!(
            step("[[step]]\nform_id = \"nope\"\n").fill(LOGIN_PAGE),
            Err(StepError::NoFormWithId("nope".into()))
        );
        assert_eq!(
            step("[[step]]\nform = 1\nsubmit = \"approve\"\n").fill(LOGIN_PAGE),
            Err(StepError::NoSubmit("approve".into()))
        );
    }
}
