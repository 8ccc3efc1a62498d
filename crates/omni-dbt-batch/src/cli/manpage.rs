//! `omni-dbt-batch man`: the manual page (roff) generated from the command's own definition:
//! the top-level page, then a section per subcommand with its synopsis, description and flags.

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_mangen::Man;
use omni_dbt_batch::ExitStatus;

use super::args::Cli;
use super::stdout::write_all_or_pipe_closed;

/// Prints the page on stdout.
pub(super) fn print() -> Result<ExitStatus> {
    write_all_or_pipe_closed(page()?.as_bytes())?;
    Ok(ExitStatus::Success)
}

/// The whole page.
pub(super) fn page() -> Result<String> {
    // `help SUBCOMMAND` is --help by another name: the page documents each subcommand itself.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut page = render(|out| Man::new(command.clone()).render(out))?;
    for subcommand in command.get_subcommands() {
        page = point_to_section(&page, subcommand);
        page.push_str(&subcommand_section(subcommand)?);
    }
    Ok(page)
}

/// The SUBCOMMANDS list names a page per subcommand (`omni-dbt-batch-run(1)`); this page has a
/// section for each instead.
fn point_to_section(page: &str, subcommand: &clap::Command) -> String {
    let name = subcommand.get_name();
    let separate_page = format!("\n{}(1)\n", escaped(&format!("omni-dbt-batch-{name}")));
    let section = format!(
        "\n\\fB{}\\fR (see {} below)\n",
        escaped(name),
        heading(subcommand)
    );
    page.replacen(&separate_page, &section, 1)
}

/// `.SH "OMNI-DBT-BATCH RUN"`, then the subcommand's synopsis, description and options, each
/// of its own sections turned into a subsection.
fn subcommand_section(subcommand: &clap::Command) -> Result<String> {
    let man = Man::new(subcommand.clone());
    let mut section = format!(".SH \"{}\"\n", heading(subcommand));
    section.push_str(&subsections(&render(|out| {
        man.render_synopsis_section(out)
    })?));
    section.push_str(&subsections(&render(|out| {
        man.render_description_section(out)
    })?));
    section.push_str(&subsections(&render(|out| {
        man.render_options_section(out)
    })?));
    Ok(section)
}

/// The section heading of a subcommand, e.g. `OMNI-DBT-BATCH RUN` (hyphens escaped).
fn heading(subcommand: &clap::Command) -> String {
    let name = subcommand
        .get_bin_name()
        .unwrap_or_else(|| subcommand.get_name());
    escaped(&name.to_uppercase())
}

/// Hyphens as roff's `\-`, so that they are searched and copied as typed.
fn escaped(text: &str) -> String {
    text.replace('-', "\\-")
}

/// Each `.SH` heading of `roff` demoted to `.SS`.
fn subsections(roff: &str) -> String {
    roff.lines()
        .map(|line| match line.strip_prefix(".SH ") {
            Some(heading) => format!(".SS {heading}\n"),
            None => format!("{line}\n"),
        })
        .collect()
}

fn render(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<String> {
    let mut out = Vec::new();
    write(&mut out).context("cannot render the manual page")?;
    String::from_utf8(out).context("the manual page is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_a_section_with_the_flags_of_every_subcommand() {
        let page = page().unwrap();
        assert!(page.contains("\n.TH omni-dbt-batch 1 "), "{}", &page[..120]);
        for subcommand in Cli::command().get_subcommands() {
            let name = subcommand.get_name();
            let heading = format!(r#".SH "OMNI\-DBT\-BATCH {}""#, name.to_uppercase());
            assert!(page.contains(&heading), "{heading}");
        }
        for flag in [
            r"omni\-profile",
            r"message\-format",
            "OMNI_DBT_MESSAGE_FORMAT",
        ] {
            assert!(page.contains(flag), "{flag}");
        }
    }

    #[test]
    fn the_subcommand_list_points_to_sections_of_this_page() {
        let page = page().unwrap();
        assert!(!page.contains("(1)\n"), "no other page is named");
        assert!(
            page.contains(r"\fBrun\fR (see OMNI\-DBT\-BATCH RUN below)"),
            "{page}"
        );
    }

    #[test]
    fn subsections_demote_only_section_headings() {
        assert_eq!(
            subsections(".SH OPTIONS\n.TP\n.SHx\n"),
            ".SS OPTIONS\n.TP\n.SHx\n"
        );
    }
}
