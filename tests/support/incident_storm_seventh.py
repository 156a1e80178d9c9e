"""A seventh set of wordings for the synthetic incident day (half=6), written by
someone who had not read the grouping code nor the earlier sets, before its one
measurement.
"""

from __future__ import annotations

LOGIN_SEVENTH: list[str] = [
    "it won't let me in??",
    "kicked out of the app again, third time this morning. every time i get back in it boots me straight out",
    "Stuck on the spinning wheel after I type my details. Tried Chrome and Safari, same thing.",
    (
        "says my details are wrong but they're definitely right, I literally reset my password an hour ago "
        "and it STILL says incorrect"
    ),
    "2FA code never arrives. waited 20 mins, requested it 5 times. nothing.",
    "is it down? cant sign in",
    "Error AUTH-503 when signing in on the iPhone app. Anyone else getting this?",
    "wanted to check where my order is but can't get past the sign-in page, it just loops me back to the start",
    "great, so I've got a voucher expiring tonight and you won't let me access my account. brilliant timing, really",
    "lol your login page is broken again",
    "Been locked out since about 9am. Web, app, laptop, phone - nothing works. Is there an outage or is it just me?",
    "my profile just... vanished? logged me out and now says session expired every single time",
    "Android app keeps saying 'something went wrong, please try again later' the moment I enter my email",
    "verification email isnt coming through, cant get in",
    "Firefox shows a blank white screen after hitting Sign In. Cleared cookies, tried incognito, the lot.",
    "why does the app keep asking me to log in and then rejecting me",
    "i cant get into my acount at all, ive tried like 10 times now wtf",
    (
        "Tried to change the delivery address before it ships and I'm stuck at the login screen with error "
        "401. Please sort it, the parcel goes out tomorrow."
    ),
    "Face ID not recognised since this morning, and typing it manually fails too",
    (
        "Hello, I'm unable to sign in to the website or the app today. It says 'We couldn't verify you'. Is "
        "there a known issue? I need to download an invoice for work by 5pm."
    ),
]

PAYMENT_SEVENTH: list[str] = [
    "card declined three times, bank says nothing wrong on their end",
    "checkout just spins forever",
    "Charged £64.99 but no confirmation and nothing showing in my orders. Where has my money gone?",
    "PayPal window opens then closes and dumps me back at the basket",
    "Apple Pay failing on your app - 'payment not completed'",
    "Klarna option greyed out today?",
    "basket won't go through. Tried two different cards.",
    "getting PAY-500 error at the very last step",
    "is your payment system broken? been trying to buy trainers for an hour",
    "money taken twice and still no order. brilliant.",
    (
        "Every time I hit 'Place order' I get 'transaction could not be processed'. Debit, credit, gift "
        "voucher - none of them work."
    ),
    "So I finally find a discount code that works and now you won't take my money. Classic.",
    "3D Secure screen never loads so it just times out",
    "pending transaction in my banking app but your site says purchase failed??",
    (
        "Trying to get a birthday present for my daughter before the next-day cutoff and the final step "
        "errors out with 'Sorry, we couldn't complete your purchase'. Tried laptop and phone. Please help, "
        "her birthday is Saturday."
    ),
    "Google Pay doesnt work either. nothing goes thru",
]

BACKGROUND_SEVENTH: list[str] = [
    "Ordered {item} on the {n}th of {month} and it still hasn't turned up. Tracking hasn't moved in days.",
    "Refund for my {item} still hasn't hit my card, it's been {n} weeks.",
    "Staff at your {city} store were really rude when I asked about a return.",
    "How do I update my address in my account? I've moved house.",
    "The {item} I bought fell apart after {n} washes. Not impressed.",
    "Cancelled my subscription in {month} and you've billed me again this month.",
    "Returned a {item} to the {city} branch, still no refund {n} days later",
    "Why is your app showing the wrong opening times for {city}?",
    "Courier left my parcel in the bin. Genuinely, in the wheelie bin.",
    "Wrong size {item} arrived. Ordered a medium, got an XL.",
    "Can I pay for a delivery upgrade after the order has already been placed?",
    "Your {city} store had no {item} in stock despite the website saying {n} available.",
    "Is there a way to save a {item} to a wishlist without making an account and yet another password to remember?",
    "Loyalty points from my {month} order never showed up on my account.",
    "Parcel marked as delivered but nothing here. Neighbours haven't got it either.",
    "The {item} arrived scratched. Box looked fine so it must have been packed like that.",
    "Waited {n} minutes on hold to speak to someone about a missing item. Ridiculous.",
    "The gift card my mum gave me in {month} only has half the balance she put on it.",
    "Got the 'ready to collect' email but the {city} store says my order isn't there.",
    "Price dropped on the {item} a day after I bought it, can I get the difference back?",
]
