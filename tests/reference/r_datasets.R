# R's own example data sets, written as CSV for the tests that feed them through the earlyphase CLI.
#
# Sourced by make_reference.R and make_cox_reference.R (run from the repository root). Writes
# tests/reference/data/datasets/<name>.csv with write.csv (missing values as NA, factors as their
# labels, each number as the shortest text that reads back exactly), checks that reading each file
# back gives the same numbers, and returns the data frames the references are computed on.
# The data sets come with R's survival package (LGPL >= 2); see data/datasets/README.md.

suppressPackageStartupMessages(library(survival))

dataset_dir <- file.path("tests", "reference", "data", "datasets")
dir.create(dataset_dir, showWarnings = FALSE, recursive = TRUE)

shortest <- function(x) {
  # the shortest text that reads back as the same double: 15 significant digits, else 17
  out <- sprintf("%.15g", x)
  bad <- !is.na(x) & as.numeric(out) != x
  out[bad] <- sprintf("%.17g", x[bad])
  out[is.na(x)] <- NA
  out
}

write_dataset <- function(d, name) {
  path <- file.path(dataset_dir, paste0(name, ".csv"))
  text <- d
  text_cols <- which(!vapply(d, is.numeric, TRUE))
  for (nm in names(d)) if (is.numeric(d[[nm]])) text[[nm]] <- shortest(as.numeric(d[[nm]]))
  write.csv(text, path, row.names = FALSE, quote = text_cols, na = "NA")
  back <- read.csv(path, stringsAsFactors = FALSE)
  for (nm in names(d)) {
    if (is.numeric(d[[nm]])) stopifnot(isTRUE(all.equal(back[[nm]], as.numeric(d[[nm]]), tolerance = 0)))
    else stopifnot(identical(back[[nm]], as.character(d[[nm]])))
  }
  invisible(d)
}

r_datasets <- function() {
  out <- list()
  out$lung <- write_dataset(survival::lung, "lung")
  out$veteran <- write_dataset(survival::veteran, "veteran")
  out$pbc <- write_dataset(survival::pbc, "pbc")
  out$ovarian <- write_dataset(survival::ovarian, "ovarian")
  out$retinopathy <- write_dataset(survival::retinopathy, "retinopathy")
  out$rotterdam <- write_dataset(survival::rotterdam[, c("pid", "age", "meno", "size", "grade", "nodes", "rtime", "recur",
                                                         "dtime", "death")], "rotterdam")
  out$flchain <- write_dataset(survival::flchain[, c("age", "sex", "flc.grp", "futime", "death")], "flchain")
  # flchain on the age scale: entry = age, exit = age + futime / 365.25 (years). Written with 17
  # significant digits so that exits that differ by rounding only (1e-14 apart) stay as R has them.
  fa <- survival::flchain[, c("age", "sex", "futime", "death")]
  fa <- fa[fa$futime > 0, ]
  fa$exit_age <- fa$age + fa$futime / 365.25
  path <- file.path(dataset_dir, "flchain_age.csv")
  lines <- c("\"age\",\"sex\",\"futime\",\"death\",\"exit_age\"",
             sprintf("%d,\"%s\",%d,%d,%s", as.integer(fa$age), as.character(fa$sex), as.integer(fa$futime),
                     as.integer(fa$death), sprintf("%.17g", fa$exit_age)))
  writeLines(lines, path)
  back <- read.csv(path)
  stopifnot(identical(back$exit_age, fa$exit_age))
  out$flchain_age <- fa
  out
}
