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

use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;

/// How the user agent gets past the login and consent pages.
#[derive(Debug, Clone)]
pub enum LoginMode {
    /// The authorization server answers with a redirect straight away (no pages); a page ends the walk.
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
pub fn parse_forms(page: &str) -> Vec<HtmlForm> {
    let doc = Html::parse_document(page);
    let forms = selector("form");
    let controls = selector("input, select, textarea, button");
    doc.select(&forms)
        .map(|form| {
            let attr = |name: &str| form.value().attr(name);
            let mut fields = Vec::new();
            let mut submits = Vec::new();
            // A control belongs to its nearest enclosing form: sloppy markup (`<form><div></form><form>`)
            // can leave one form inside another in the tree, and its controls are not the outer form's.
            let owned = |c: &ElementRef<'_>| {
                c.ancestors()
                    .filter_map(ElementRef::wrap)
                    .find(|a| a.value().name() == "form")
                    .is_some_and(|owner| owner.id() == form.id())
            };
            for control in form.select(&controls).filter(owned) {
                read_control(control, &mut fields, &mut submits);
            }
            HtmlForm {
                id: attr("id").map(str::to_owned),
                action: attr("action").unwrap_or_default().trim().to_owned(),
                method: FormMethod::from_attr(attr("method").unwrap_or("get")),
                fields,
                submits,
            }
        })
        .collect()
}

fn read_control(
    control: ElementRef<'_>,
    fields: &mut Vec<(String, String)>,
    submits: &mut Vec<SubmitButton>,
) {
    let el = control.value();
    if el.attr("disabled").is_some() {
        return;
    }
    let name = el.attr("name").filter(|n| !n.is_empty()).map(str::to_owned);
    let value = el.attr("value").unwrap_or_default().to_owned();
    let kind = el.attr("type").unwrap_or_default().to_ascii_lowercase();
    let button = |submits: &mut Vec<SubmitButton>| {
        submits.push(SubmitButton {
            name: name.clone(),
            value: value.clone(),
            formaction: el.attr("formaction").map(|a| a.trim().to_owned()),
            formmethod: el.attr("formmethod").map(FormMethod::from_attr),
        })
    };
    match el.name() {
        "button" if kind.is_empty() || kind == "submit" => button(submits),
        "input" => match kind.as_str() {
            "submit" => button(submits),
            "image" | "reset" | "button" | "file" => {}
            "checkbox" | "radio" => {
                if let (Some(name), Some(_)) = (name, el.attr("checked")) {
                    let value = el.attr("value").unwrap_or("on").to_owned();
                    fields.push((name, value));
                }
            }
            _ => {
                if let Some(name) = name {
                    fields.push((name, value));
                }
            }
        },
        "select" => {
            let Some(name) = name else { return };
            let options: Vec<ElementRef<'_>> = control
                .select(&selector("option"))
                .filter(|o| o.value().attr("disabled").is_none())
                .collect();
            let option_value = |o: &ElementRef<'_>| {
                o.value()
                    .attr("value")
                    .map(str::to_owned)
                    .unwrap_or_else(|| o.text().collect::<String>().trim().to_owned())
            };
            let selected: Vec<&ElementRef<'_>> = options
                .iter()
                .filter(|o| o.value().attr("selected").is_some())
                .collect();
            if selected.is_empty() {
                if el.attr("multiple").is_none() {
                    if let Some(first) = options.first() {
                        fields.push((name, option_value(first)));
                    }
                }
            } else {
                for o in selected {
                    fields.push((name.clone(), option_value(o)));
                }
            }
        }
        "textarea" => {
            if let Some(name) = name {
                fields.push((name, control.text().collect()));
            }
        }
        _ => {}
    }
}

fn selector(css: &str) -> Selector {
    // The selectors are literals in this file; a parse failure is a bug caught by the unit tests.
    Selector::parse(css).unwrap_or_else(|e| panic!("invalid selector {css:?}: {e}"))
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
