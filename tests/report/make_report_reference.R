# Reference values for the report's survival numbers, from R's survival package.
#
# Run from the repository root:   Rscript tests/report/make_report_reference.R
# Reads tests/report/data/twin_adtte.csv (USUBJID, TRT01P, PARAMCD, AVAL days, CNSR; the default-seed
# twin's ADTTE as the report wrote it) and writes tests/report/data/twin_report_reference.csv:
#   median with log-log 95% CI (overall and per group), survival with log-log 95% CI and n at risk at
#   6/12/24 months, the 4-group log-rank P, the log-rank trend P (scores 1..4), Cox hazard ratios (Efron) of B, C, D versus A with 95% CI,
#   and the reverse Kaplan-Meier median follow-up with its 95% CI (overall and per group).
# Header lines (#) record the R and survival versions and the calls.

suppressPackageStartupMessages(library(survival))
d <- read.csv(file.path("tests", "report", "data", "twin_adtte.csv"))
out <- file.path("tests", "report", "data", "twin_report_reference.csv")
d$months <- d$AVAL / 30.4375
d$event <- 1 - d$CNSR
rows <- list()
add <- function(endpoint, group, quantity, value) {
  rows[[length(rows) + 1]] <<- c(endpoint, group, quantity, sprintf("%.10g", value))
}
for (endpoint in c("PFS", "OS")) {
  e <- d[d$PARAMCD == endpoint, ]
  fits <- list(all = survfit(Surv(months, event) ~ 1, data = e, conf.type = "log-log"))
  for (g in sort(unique(e$TRT01P))) {
    fits[[g]] <- survfit(Surv(months, event) ~ 1, data = e[e$TRT01P == g, ], conf.type = "log-log")
  }
  for (g in names(fits)) {
    tab <- summary(fits[[g]])$table
    add(endpoint, g, "median", tab[["median"]])
    add(endpoint, g, "median_lower", tab[["0.95LCL"]])
    add(endpoint, g, "median_upper", tab[["0.95UCL"]])
    s <- summary(fits[[g]], times = c(6, 12, 24), extend = TRUE)
    for (i in seq_along(s$time)) {
      add(endpoint, g, paste0("surv_", s$time[i]), s$surv[i])
      add(endpoint, g, paste0("lower_", s$time[i]), s$lower[i])
      add(endpoint, g, paste0("upper_", s$time[i]), s$upper[i])
      add(endpoint, g, paste0("nrisk_", s$time[i]), s$n.risk[i])
    }
  }
  sd <- survdiff(Surv(months, event) ~ TRT01P, data = e)
  add(endpoint, "all", "logrank_p", pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE))
  # log-rank test for trend, scores 1..k in group order: (s'(O - E))^2 / (s' V s) on 1 df
  sc <- seq_along(sd$n)
  u <- sum(sc * (sd$obs - sd$exp))
  v <- as.numeric(t(sc) %*% sd$var %*% sc)
  add(endpoint, "all", "trend_p", pchisq(u^2 / v, 1, lower.tail = FALSE))
  cx <- summary(coxph(Surv(months, event) ~ factor(TRT01P), data = e, ties = "efron"))
  ci <- cx$conf.int
  for (i in seq_len(nrow(ci))) {
    g <- sub("factor\\(TRT01P\\)", "", rownames(ci)[i])
    add(endpoint, g, "hr", ci[i, "exp(coef)"])
    add(endpoint, g, "hr_lower", ci[i, "lower .95"])
    add(endpoint, g, "hr_upper", ci[i, "upper .95"])
    add(endpoint, g, "hr_p", cx$coefficients[i, "Pr(>|z|)"])
  }
  if (endpoint == "OS") {
    rev <- summary(survfit(Surv(months, 1 - event) ~ 1, data = e, conf.type = "log-log"))$table
    add(endpoint, "all", "followup_median", rev[["median"]])
    add(endpoint, "all", "followup_lower", rev[["0.95LCL"]])
    add(endpoint, "all", "followup_upper", rev[["0.95UCL"]])
    # per group, where a group with nobody censored has no reverse-KM step at all (R prints NA)
    for (g in sort(unique(e$TRT01P))) {
      rg <- summary(survfit(Surv(months, 1 - event) ~ 1, data = e[e$TRT01P == g, ], conf.type = "log-log"))$table
      add(endpoint, g, "followup_median", rg[["median"]])
      add(endpoint, g, "followup_lower", rg[["0.95LCL"]])
      add(endpoint, g, "followup_upper", rg[["0.95UCL"]])
    }
  }
}
header <- c(
  sprintf("# %s; survival %s", R.version.string, as.character(packageVersion("survival"))),
  "# calls: survfit(Surv(AVAL / 30.4375, 1 - CNSR) ~ 1, conf.type = 'log-log') per group; summary(fit)$table;",
  "#        summary(fit, times = c(6, 12, 24), extend = TRUE); survdiff(... ~ TRT01P) (trend: scores 1..k on O - E, var);",
  "#        coxph(... ~ factor(TRT01P), ties = 'efron'); reverse KM: survfit(Surv(months, CNSR) ~ 1) median and 95% CI, overall and per group",
  "endpoint,group,quantity,value"
)
body <- vapply(rows, function(r) paste(r, collapse = ","), character(1))
writeLines(c(header, body), out)
