# Reference values for the twin: R's survival on the default-seed twin's times.
#
# Run from the repository root:   Rscript tests/twin/make_twin_reference.R
# Reads tests/twin/data/twin_times.csv (written by tests/twin/make_twin_times.py) and writes
# tests/twin/data/twin_r_reference.csv: the KM median (months = days / 30.4375, as printed by
# survfit) overall and per group, and the 4-group log-rank P (survdiff), for PFS and OS.
# The header lines (starting with #) record the R and survival versions and the calls.

suppressPackageStartupMessages(library(survival))

d <- read.csv(file.path("tests", "twin", "data", "twin_times.csv"))
out <- file.path("tests", "twin", "data", "twin_r_reference.csv")

rows <- list()
for (endpoint in c("PFS", "OS")) {
  time <- if (endpoint == "PFS") d$pfs_days / 30.4375 else d$os_days / 30.4375
  status <- if (endpoint == "PFS") d$pfs_event else d$os_event
  overall <- survfit(Surv(time, status) ~ 1)
  rows[[length(rows) + 1]] <- c(endpoint, "overall", "median_months", sprintf("%.10f", summary(overall)$table[["median"]]))
  by_group <- survfit(Surv(time, status) ~ group, data = cbind(d, time = time, status = status))
  med <- summary(by_group)$table[, "median"]
  for (i in seq_along(med)) {
    g <- sub("group=", "", names(med)[i])
    rows[[length(rows) + 1]] <- c(endpoint, g, "median_months", sprintf("%.10f", med[[i]]))
  }
  sd <- survdiff(Surv(time, status) ~ group, data = cbind(d, time = time, status = status))
  p <- pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)
  rows[[length(rows) + 1]] <- c(endpoint, "all", "logrank_p", sprintf("%.12g", p))
}

con <- file(out, "w")
writeLines(c(
  paste0("# ", R.version.string, "; survival ", as.character(packageVersion("survival"))),
  "# calls: survfit(Surv(days / 30.4375, event) ~ 1) and ~ group (summary()$table median);",
  "#        survdiff(Surv(days / 30.4375, event) ~ group), P = pchisq(chisq, k - 1, lower.tail = FALSE)",
  "endpoint,group,quantity,value"
), con)
for (r in rows) writeLines(paste(r, collapse = ","), con)
close(con)
cat("wrote", out, "\n")
