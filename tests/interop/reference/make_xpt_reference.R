# R reads the SAS XPORT v5 files earlyphase writes: the reference for tests/interop/test_cdisc_r_reads.py.
#
#   python tests/interop/reference/write_xpt_for_r.py /tmp/xpt     # our XPT from the CDISC pilot Dataset-JSON
#   python tests/interop/reference/write_export_for_r.py /tmp/ours # our export of the twin database
#   Rscript tests/interop/reference/make_xpt_reference.R /tmp/ours/sdtm tests/interop/reference/data/export
#   Rscript tests/interop/reference/make_xpt_reference.R /tmp/ours/adam tests/interop/reference/data/export
#   Rscript tests/interop/reference/make_xpt_reference.R /tmp/xpt tests/interop/reference/data
#
# For each XPT: <name>_values.csv (what foreign::read.xport reads, numbers with 17 significant digits, SAS dates
# as R reads them: days since 1960-01-01) and <name>_variables.csv (what foreign::lookup.xport says of each
# variable: name, type, width, label, format). Needs Debian's r-base-core (foreign is a recommended package).
library(foreign)
args <- commandArgs(trailingOnly = TRUE)
source_dir <- args[1]
out_dir <- args[2]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
header <- sprintf("# %s, foreign %s; foreign::read.xport and lookup.xport", R.version.string,
                  as.character(packageVersion("foreign")))
for (path in sort(list.files(source_dir, pattern = "\\.xpt$", full.names = TRUE))) {
  name <- tolower(sub("\\.xpt$", "", basename(path)))
  data <- read.xport(path)
  for (column in names(data)) {
    if (is.numeric(data[[column]])) data[[column]] <- ifelse(is.na(data[[column]]), NA,
                                                             trimws(formatC(data[[column]], digits = 17, format = "g")))
  }
  values <- file.path(out_dir, paste0(name, "_values.csv"))
  writeLines(header, values)
  suppressWarnings(write.table(data, values, sep = ",", row.names = FALSE, na = "", append = TRUE, qmethod = "double"))
  info <- lookup.xport(path)[[1]]
  variables <- data.frame(name = info$name, type = info$type, width = info$width, label = info$label,
                          format = info$format)
  out <- file.path(out_dir, paste0(name, "_variables.csv"))
  writeLines(header, out)
  suppressWarnings(write.table(variables, out, sep = ",", row.names = FALSE, na = "", append = TRUE,
                               qmethod = "double"))
}
