//! The one way this workspace declares a closed catalogue of enum variants.
//!
//! * [`defects!`] declares a defect enum of a reference target (`ServerDefect` in
//!   `mcp-auth-targets`, `ClientDefect` in `mcp-auth-targets`, `AsDefect` in `fake-idp`): each
//!   variant turns off exactly one protection and has a kebab-case name (what `--defect NAME` and
//!   `fixtures/expected/*.toml` use) and a one-sentence description.
//! * [`variants!`] declares any other enum whose every variant the suite must visit (the stimuli
//!   of the server role; the redirect variants, code and refresh attacks and CIMD cases of the AS
//!   role; the report model's roles, levels and verdicts), with an optional description per
//!   variant.
//!
//! Both generate `ALL` from the declaration, so no list of variants is kept by hand. The crate
//! holds only `macro_rules!` (and the `const fn` they call) and has no dependencies:
//! `mcp-auth-targets` and `fake-idp` do not depend on each other, and both (as well as the suite
//! and the reports) depend on this.

/// Declares a defect enum: the enum (each variant documented by its description), `ALL` (every
/// variant, in declaration order), `name()` (kebab-case), `description()`, `Display` (the name),
/// `FromStr` (by name, surrounding whitespace ignored) and an error type whose message lists the
/// valid names. A name that is not kebab-case, or is given twice, fails the build. Optionally
/// one more per-variant value, declared as `fn NAME(self) -> TYPE;` after the error line and given
/// per variant between the name and the description.
///
/// ```
/// mcp_auth_defects::defects! {
///     /// One deliberately broken protection of an example target.
///     pub enum ExampleDefect;
///     /// Error for an unknown example defect name; its message lists the valid names.
///     error UnknownExampleDefect("example defect");
///     /// How loud the defect is.
///     pub fn volume(self) -> u8;
///
///     SkipCheck = "skip-check", 3,
///         "Skips the check.";
///     AcceptAll = "accept-all", 11,
///         "Accepts everything.";
/// }
///
/// assert_eq!(ExampleDefect::ALL, &[ExampleDefect::SkipCheck, ExampleDefect::AcceptAll]);
/// assert_eq!("accept-all".parse::<ExampleDefect>(), Ok(ExampleDefect::AcceptAll));
/// assert_eq!(ExampleDefect::AcceptAll.volume(), 11);
/// assert_eq!(ExampleDefect::SkipCheck.to_string(), "skip-check");
/// assert_eq!(ExampleDefect::SkipCheck.description(), "Skips the check.");
/// let err = "nope".parse::<ExampleDefect>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unknown example defect `nope`; valid defects: skip-check, accept-all"
/// );
/// ```
///
/// A duplicate (or non-kebab-case) name does not compile:
///
/// ```compile_fail
/// mcp_auth_defects::defects! {
///     pub enum Twice;
///     error UnknownTwice("twice");
///     A = "same-name", "One.";
///     B = "same-name", "Two.";
/// }
/// ```
#[macro_export]
macro_rules! defects {
    // One extra per-variant value.
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $Enum:ident;
        $(#[$err_meta:meta])*
        error $Unknown:ident($kind:literal);
        $(#[$fn_meta:meta])*
        $fn_vis:vis fn $field:ident(self) -> $fty:ty;
        $( $variant:ident = $name:literal, $value:expr, $desc:literal; )*
    ) => {
        $crate::defects! {
            @common
            [$(#[$enum_meta])*] [$vis] $Enum;
            [$(#[$err_meta])*] $Unknown($kind);
            $( $variant = $name, $desc; )*
        }

        impl $Enum {
            $(#[$fn_meta])*
            $fn_vis fn $field(self) -> $fty {
                match self {
                    $( $Enum::$variant => $value, )*
                }
            }
        }
    };
    // Name and description only.
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $Enum:ident;
        $(#[$err_meta:meta])*
        error $Unknown:ident($kind:literal);
        $( $variant:ident = $name:literal, $desc:literal; )*
    ) => {
        $crate::defects! {
            @common
            [$(#[$enum_meta])*] [$vis] $Enum;
            [$(#[$err_meta])*] $Unknown($kind);
            $( $variant = $name, $desc; )*
        }
    };
    (
        @common
        [$(#[$enum_meta:meta])*] [$vis:vis] $Enum:ident;
        [$(#[$err_meta:meta])*] $Unknown:ident($kind:literal);
        $( $variant:ident = $name:literal, $desc:literal; )*
    ) => {
        // Names are kebab-case and unique, or the crate does not compile.
        const _: () = $crate::check_names(&[ $( $name, )* ]);

        $(#[$enum_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $Enum {
            $( #[doc = $desc] $variant, )*
        }

        impl $Enum {
            /// Every defect, in catalogue order.
            pub const ALL: &'static [$Enum] = &[ $( $Enum::$variant, )* ];

            /// The kebab-case name used on the command line and in fixtures.
            pub fn name(self) -> &'static str {
                match self {
                    $( $Enum::$variant => $name, )*
                }
            }

            /// What the defect breaks, in one sentence.
            pub fn description(self) -> &'static str {
                match self {
                    $( $Enum::$variant => $desc, )*
                }
            }
        }

        impl ::core::fmt::Display for $Enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }

        $(#[$err_meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $Unknown {
            /// The name that was given.
            pub name: ::std::string::String,
        }

        impl ::core::fmt::Display for $Unknown {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::write!(f, ::core::concat!("unknown ", $kind, " `{}`; valid defects: "), self.name)?;
                for (i, d) in $Enum::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(d.name())?;
                }
                Ok(())
            }
        }

        impl ::std::error::Error for $Unknown {}

        impl ::core::str::FromStr for $Enum {
            type Err = $Unknown;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                let s = s.trim();
                $Enum::ALL
                    .iter()
                    .copied()
                    .find(|d| d.name() == s)
                    .ok_or_else(|| $Unknown { name: s.into() })
            }
        }
    };
}

/// Compile-time check of a defect catalogue's names (used by [`defects!`]): each is non-empty
/// kebab-case (`a-z`, `0-9`, single inner `-`) and no two are equal.
#[doc(hidden)]
pub const fn check_names(names: &[&str]) {
    let mut i = 0;
    while i < names.len() {
        let n = names[i].as_bytes();
        assert!(!n.is_empty(), "empty defect name");
        assert!(
            n[0] != b'-' && n[n.len() - 1] != b'-',
            "defect name starts or ends with `-`"
        );
        let mut k = 0;
        while k < n.len() {
            let c = n[k];
            assert!(
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-',
                "defect name is not kebab-case"
            );
            assert!(!(c == b'-' && n[k + 1] == b'-'), "defect name has `--`");
            k += 1;
        }
        let mut j = i + 1;
        while j < names.len() {
            assert!(!bytes_eq(n, names[j].as_bytes()), "duplicate defect name");
            j += 1;
        }
        i += 1;
    }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares an enum together with `ALL`, every variant in declaration order as an array whose
/// length is counted by the macro. With `Variant = "text"` entries it also generates
/// `describe()`, the text of each variant (which also documents it).
///
/// ```
/// mcp_auth_defects::variants! {
///     /// A colour.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Colour {
///         Red = "the colour of blood",
///         Green = "the colour of grass",
///     }
/// }
///
/// mcp_auth_defects::variants! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     enum Side {
///         /// The left one.
///         Left,
///         Right,
///     }
/// }
///
/// assert_eq!(Colour::ALL, [Colour::Red, Colour::Green]);
/// assert_eq!(Colour::Green.describe(), "the colour of grass");
/// assert_eq!(Side::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! variants {
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $Enum:ident {
            $( $(#[$var_meta:meta])* $variant:ident = $desc:literal ),* $(,)?
        }
    ) => {
        $crate::variants! {
            $(#[$enum_meta])*
            $vis enum $Enum {
                $( $(#[$var_meta])* #[doc = $desc] $variant, )*
            }
        }

        impl $Enum {
            /// What the variant is, in words (for reports).
            pub fn describe(self) -> &'static str {
                match self {
                    $( $Enum::$variant => $desc, )*
                }
            }
        }
    };
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $Enum:ident {
            $( $(#[$var_meta:meta])* $variant:ident ),* $(,)?
        }
    ) => {
        $(#[$enum_meta])*
        $vis enum $Enum {
            $( $(#[$var_meta])* $variant, )*
        }

        impl $Enum {
            /// Every variant, in declaration order.
            pub const ALL: [$Enum; {
                let names: &[&str] = &[ $( ::core::stringify!($variant), )* ];
                names.len()
            }] = [ $( $Enum::$variant, )* ];
        }
    };
}
